"""Disclosure policies as data (issue 4, item 2): validated against the schema, deny by default,
rule ids in every decision, and behaviour that follows the policy files without a code change."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from consent.groups import ALL_GROUPS, FIELD_GROUP, ROSTER_GROUPS
from consent.policy import DEFAULT_DIR, POLICY_FILE, PolicyEngine, PolicyError, validate
from consent.ports import Party, Relationship

COMPANY = Party("company", "31000000000034")


def test_policies_validate_against_the_schema() -> None:
    """The test command validates policies/ against policies/genba.cedarschema."""
    assert validate(DEFAULT_DIR) == []


def test_every_rule_has_an_id() -> None:
    text = (DEFAULT_DIR / POLICY_FILE).read_text()
    rules = text.count("permit (") + text.count("forbid (")
    assert rules == text.count('@id("') and rules >= 6


def test_deny_by_default() -> None:
    """docs/domain.md rule 1: with no relationship and no consent nothing is disclosed, and no rule decided."""
    result = PolicyEngine().evaluate(COMPANY, Relationship(), ALL_GROUPS, frozenset())
    assert result.allowed == frozenset()
    assert all(rules == () for group, rules in result.rules_by_group.items() if group != "past_affiliations")


def test_site_rule_allows_exactly_the_roster_and_work_history() -> None:
    """Rule 2: roster fields and own-site work history; never contact, past employers or education."""
    result = PolicyEngine().evaluate(COMPANY, Relationship(upper_tier_sites=("S1",)), ALL_GROUPS, frozenset())
    assert result.allowed == frozenset({*ROSTER_GROUPS, "work_history"})
    assert all(result.rules_by_group[g] == ("site-upper-tiers-see-roster",) for g in result.allowed)


def test_forbid_past_employers_wins_over_consent() -> None:
    result = PolicyEngine().evaluate(COMPANY, Relationship(), ("past_affiliations",), frozenset({"past_affiliations"}))
    assert result.allowed == frozenset() and result.forbidden == frozenset({"past_affiliations"})
    assert result.rules_by_group["past_affiliations"] == ("past-employers-only-to-technician",)


def test_every_field_is_in_exactly_one_known_group() -> None:
    assert set(FIELD_GROUP.values()) == set(ALL_GROUPS)


def test_changing_the_policy_file_changes_behaviour(tmp_path: Path) -> None:
    """Policies are data: removing the site rule from a copy of the files removes roster access."""
    shutil.copytree(DEFAULT_DIR, tmp_path / "policies")
    policy = tmp_path / "policies" / POLICY_FILE
    text = policy.read_text()
    start = text.index('@id("site-upper-tiers-see-roster")')
    end = text.index("};", start) + 2
    policy.write_text(text[:start] + text[end:])
    result = PolicyEngine(tmp_path / "policies").evaluate(
        COMPANY, Relationship(upper_tier_sites=("S1",)), ALL_GROUPS, frozenset()
    )
    assert result.allowed == frozenset()


def test_an_invalid_policy_is_refused_at_start(tmp_path: Path) -> None:
    shutil.copytree(DEFAULT_DIR, tmp_path / "policies")
    (tmp_path / "policies" / POLICY_FILE).write_text("permit (principal, action, resource) when { context.nope };")
    with pytest.raises(PolicyError):
        PolicyEngine(tmp_path / "policies")
