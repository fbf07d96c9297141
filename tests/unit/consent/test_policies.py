"""Disclosure policies as data (issue 4, item 2): validated against the schema, deny by default,
rule ids in every decision, and behaviour that follows the policy files without a code change."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cedarpy
import pytest

from consent.groups import ALL_GROUPS, FIELD_GROUP, RECORD_GROUPS, ROSTER_GROUPS
from consent.policy import DEFAULT_DIR, POLICY_FILE, PolicyEngine, PolicyError, reads_principal, validate
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
    """Issue 4, item 1: every record field in one group; every record group has fields (attendance,
    issue 16, is read from its own tables and is the one group that is not the record's)."""
    assert set(FIELD_GROUP.values()) == set(RECORD_GROUPS)
    assert set(ALL_GROUPS) - set(RECORD_GROUPS) == {"attendance"}


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


def test_these_policies_do_not_read_the_principal() -> None:
    """Issue 14: no rule of policies/disclosure.cedar names or inspects the principal, so the engine's
    answer cache is shared by all principals with the same relationship and consents."""
    text = (DEFAULT_DIR / POLICY_FILE).read_text()
    assert reads_principal(json.loads(cedarpy.policies_to_json_str(text))) is False


@pytest.mark.parametrize(
    "rule",
    [
        'forbid (principal == Genba::Company::"31000000000034", action, resource);',
        "forbid (principal is Genba::Client, action, resource);",
        'forbid (principal, action, resource) when { principal == Genba::Company::"31000000000034" };',
        "forbid (principal, action, resource) unless { principal is Genba::Technician };",
    ],
)
def test_a_policy_that_reads_the_principal_keeps_answers_apart(tmp_path: Path, rule: str) -> None:
    """Issue 14: a rule that names or tests the principal puts the principal back into the answer
    cache's key, so one principal's cached answer is never given to another."""
    shutil.copytree(DEFAULT_DIR, tmp_path / "policies")
    policy = tmp_path / "policies" / POLICY_FILE
    policy.write_text(policy.read_text() + '\n@id("test-rule")\n' + rule + "\n")
    assert reads_principal(json.loads(cedarpy.policies_to_json_str(policy.read_text())))
    engine = PolicyEngine(tmp_path / "policies")
    roster = Relationship(upper_tier_sites=("S1",))
    named = engine.evaluate(COMPANY, roster, ALL_GROUPS, frozenset())
    other = engine.evaluate(Party("company", "31000000000035"), roster, ALL_GROUPS, frozenset())
    system = engine.evaluate(Party("client", "c1", acting_for=COMPANY), roster, ALL_GROUPS, frozenset())
    technician = engine.evaluate(Party("technician", "10000000000001"), roster, ALL_GROUPS, frozenset())
    answers = {named.allowed, other.allowed, system.allowed, technician.allowed}
    assert frozenset() in answers and len(answers) == 2
