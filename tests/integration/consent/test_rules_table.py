"""Who sees which field group of a technician's record, rule by rule (docs/domain.md "The rules"
1-5; issue 4, items 1, 2 and 4), on SQLite and PostgreSQL.

Each case names its rule in its id; the world is described in ``conftest.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from consent.groups import ALL_GROUPS, FIELD_GROUP, ROSTER_GROUPS, FieldGroup, fields_of
from consent.ports import ConsentError, Decision
from register.disclosure import disclose
from tests.integration.consent.conftest import E3, E4, EMPLOYERS, S1, S2, T1, T2, T3, World

EVERYTHING = frozenset(ALL_GROUPS)
NOTHING: frozenset[str] = frozenset()
ALL_BUT_PAST = EVERYTHING - {FieldGroup.past_affiliations}
ROSTER_AND_OWN_HISTORY = frozenset(ROSTER_GROUPS) | {FieldGroup.work_history}
ORDERER_VIEW = frozenset({"identity", "current_affiliation", "level_occupation", "work_history"})
NEVER_TO_SITES = {"contact", "past_affiliations", "education_training"}
ASKED = ("contact", "qualifications", "work_history")
WHOLE_HISTORY = None
TERMINAL_REASONS = ("refused", "revoked", "expired")


def _nothing(w: World) -> None:
    return None


def _default_reason(group: str) -> str:
    return "technician_only" if group == "past_affiliations" else "no_consent"


def _check(decision: Decision, allowed: frozenset[str], reasons: dict[str, str] | None = None) -> None:
    """``allowed`` exactly; every other group is missing with its reason (issue 4, item 2)."""
    assert decision.allowed == allowed
    assert set(decision.missing) == EVERYTHING - allowed
    expected = {g: (reasons or {}).get(g, _default_reason(g)) for g in EVERYTHING - allowed}
    assert {g: r.code for g, r in decision.missing.items()} == expected
    for reason in decision.missing.values():
        assert reason.ja and reason.en


# -- relationships: rules 1-5 without any consent ------------------------------------------------


@dataclass(frozen=True)
class Case:
    principal: str
    allowed: frozenset[str]
    history: tuple[str, ...] | None = WHOLE_HISTORY
    technician: str = T1
    setup: Callable[[World], None] = _nothing
    rules: tuple[str, ...] = ()


def _yesterday(w: World) -> date:
    return w.today - timedelta(days=1)


RELATIONSHIPS = {
    "rule1-technician-sees-own-record-incl-past-affiliations": Case(
        "T1", EVERYTHING, rules=("technician-sees-own-record",)
    ),
    "rule1-current-employer-sees-all-but-past-affiliations": Case("E3", ALL_BUT_PAST),
    "rule1-current-employer-plain-staff-may-view": Case("E3:staff", ALL_BUT_PAST),
    "rule1-current-employer-of-technician-on-no-site": Case(
        "E5", ALL_BUT_PAST, technician=T3, rules=("current-employer-sees-its-technicians",)
    ),
    "rule1-employer-after-affiliation-ended-yesterday-sees-nothing": Case(
        "E5", NOTHING, technician=T3, setup=lambda w: w.end_affiliation("T3", _yesterday(w))
    ),
    "rule1-former-employer-sees-nothing": Case("E7", NOTHING),
    "rule1-unrelated-company-sees-nothing-by-default": Case("E4", NOTHING),
    "rule1-unrelated-client-sees-nothing-by-default": Case("C4", NOTHING),
    "rule2-prime-sees-roster-and-own-site-history": Case(
        "E1", ROSTER_AND_OWN_HISTORY, history=(S1,), rules=("site-upper-tiers-see-roster",)
    ),
    "rule2-upper-tier-sub-sees-roster-and-own-site-history": Case(
        "E2", ROSTER_AND_OWN_HISTORY, history=(S1,), rules=("site-upper-tiers-see-roster",)
    ),
    "rule2-lower-tier-sees-nothing": Case("E3", NOTHING, technician=T2),
    "rule2-sideways-sub-on-same-site-sees-nothing": Case("E5", NOTHING),
    "rule2-prime-of-finished-site-sees-nothing": Case("E7", NOTHING),
    "rule2-site-closed-prime-sees-nothing": Case("E1", NOTHING, setup=lambda w: w.close_site(S1)),
    "rule2-site-closed-upper-tier-sees-nothing": Case("E2", NOTHING, setup=lambda w: w.close_site(S1)),
    "rule2-assignment-ended-prime-sees-nothing": Case(
        "E1", NOTHING, setup=lambda w: w.end_assignments("T1", _yesterday(w))
    ),
    "rule2-assignment-ended-today-still-visible": Case(
        "E1", ROSTER_AND_OWN_HISTORY, history=(S1,), setup=lambda w: w.end_assignments("T1", w.today)
    ),
    "rule4-proxy-registrant-sees-nothing": Case("E6", NOTHING),
    "rule4-proxy-registrant-that-is-prime-sees-roster-as-prime": Case(
        "E1", ROSTER_AND_OWN_HISTORY, history=(S1,), technician=T2, rules=("site-upper-tiers-see-roster",)
    ),
    "rule5-orderer-sees-own-project-purpose-fields": Case(
        "O1", ORDERER_VIEW, history=(S1,), rules=("orderer-sees-own-project-roster-and-attendance",)
    ),
    "rule5-orderer-of-finished-project-sees-nothing": Case("O2", NOTHING),
    "rule5-orderer-of-closed-project-sees-nothing": Case("O1", NOTHING, setup=lambda w: w.close_site(S1)),
}


@pytest.mark.parametrize("case", list(RELATIONSHIPS.values()), ids=list(RELATIONSHIPS))
def test_relationship_rules(world: World, case: Case) -> None:
    """docs/domain.md rules 1, 2, 4 and 5 without any consent: self, current employer, site upper tiers
    (roster + own-site history only), proxy registration (nothing), orderer (purpose fields only)."""
    case.setup(world)
    tech = {"T1": T1, "T2": T2, "T3": T3}.get(case.technician, case.technician)
    decision = world.decide(case.principal, tech)
    _check(decision, case.allowed)
    assert decision.work_history_sites == case.history
    assert decision.consent_ids == ()
    assert decision.contact_substituted is False
    if case.rules:
        assert decision.rules == tuple(sorted(case.rules))
    if case.principal[0] in "EO" and case.allowed and case.allowed != ALL_BUT_PAST:
        assert not (case.allowed & NEVER_TO_SITES)  # rule 2: never contact, past employers, details


def test_site_roster_excludes_other_sites_work_history(world: World) -> None:
    """docs/domain.md rule 2: the prime sees the work history on its own sites only; the data builder
    drops T1's records on S2 (another prime's finished site)."""
    decision = world.decide("E1")
    with world.session() as db:
        data = disclose(db, world.technician(db, T1), decision, today=world.today).to_json()
        whole = disclose(db, world.technician(db, T1), world.decide("T1"), today=world.today).to_json()
    assert {w["site_id"] for w in data["work_history"]} == {S1}
    assert {w["site_id"] for w in whole["work_history"]} == {S1, S2}
    assert set(data) == fields_of(decision.allowed)


def test_former_employer_with_open_assignment_sees_nothing(world: World) -> None:
    """docs/domain.md rule 1 and policy "current-employer-sees-its-technicians" (not after the affiliation
    ends); rule 2 grants the roster to the prime and *upper* tiers only. T1 left E3 yesterday but E3's
    assignment of T1 on S1 was not closed: E3 is neither employer nor upper tier and must see nothing."""
    world.end_affiliation("T1", world.today - timedelta(days=1))
    _check(world.decide("E3"), NOTHING)


# -- two-party consent: rule 1, issue 4 item 4 --------------------------------------------------


@dataclass(frozen=True)
class ConsentCase:
    steps: Callable[[World, str], None]
    allowed: frozenset[str] = NOTHING
    reason: str | None = None  # reason for the asked groups when not allowed
    asked: tuple[str, ...] = ASKED
    principal: str = "E4"
    reasons: dict[str, str] = field(default_factory=dict)


def _approve(*who: str) -> Callable[[World, str], None]:
    def run(w: World, cid: str) -> None:
        w.approve(cid, *who)

    return run


def _then(*steps: Callable[[World, str], None]) -> Callable[[World, str], None]:
    def run(w: World, cid: str) -> None:
        for step in steps:
            step(w, cid)

    return run


def _revoke(who: str) -> Callable[[World, str], None]:
    def run(w: World, cid: str) -> None:
        w.service.revoke(cid, w.party(who), now=w.now)

    return run


def _refuse(who: str) -> Callable[[World, str], None]:
    def run(w: World, cid: str) -> None:
        w.service.refuse(cid, w.party(who), now=w.now)

    return run


def _refused_to(who: str, code: str) -> Callable[[World, str], None]:
    def run(w: World, cid: str) -> None:
        with pytest.raises(ConsentError) as info:
            w.approve(cid, who)
        assert info.value.code == code

    return run


def _advance(days: int) -> Callable[[World, str], None]:
    def run(w: World, cid: str) -> None:
        w.clock.advance(days=days)

    return run


CONSENTS = {
    "rule1-requested-awaiting-both": ConsentCase(lambda w, cid: None, reason="awaiting_both"),
    "rule1-technician-approved-awaiting-employer": ConsentCase(_approve("T1"), reason="awaiting_employer"),
    "rule1-employer-approved-awaiting-technician": ConsentCase(_approve("E3"), reason="awaiting_technician"),
    "rule1-plain-staff-cannot-approve-still-awaiting": ConsentCase(
        _then(_approve("T1"), _refused_to("E3:staff", "not_admin")), reason="awaiting_employer"
    ),
    "rule1-upper-tier-cannot-approve-for-employer": ConsentCase(
        _then(_approve("T1"), _refused_to("E2", "not_a_party")), reason="awaiting_employer"
    ),
    "rule1-both-approved-technician-first": ConsentCase(_approve("T1", "E3"), allowed=frozenset(ASKED)),
    "rule1-both-approved-employer-first": ConsentCase(_approve("E3", "T1"), allowed=frozenset(ASKED)),
    "rule1-client-uses-its-owner-companys-consent": ConsentCase(
        _approve("T1", "E3"), allowed=frozenset(ASKED), principal="C4"
    ),
    "rule1-another-company-gets-nothing-from-it": ConsentCase(_approve("T1", "E3"), principal="E5"),
    "item4-revoked-by-employer-alone": ConsentCase(_then(_approve("T1", "E3"), _revoke("E3")), reason="revoked"),
    "item4-revoked-by-technician-alone": ConsentCase(_then(_approve("T1", "E3"), _revoke("T1")), reason="revoked"),
    "item4-revoked-before-approval": ConsentCase(_then(_approve("T1"), _revoke("T1")), reason="revoked"),
    "item4-refused-by-technician": ConsentCase(_refuse("T1"), reason="refused"),
    "item4-refused-by-employer-after-technician-approved": ConsentCase(
        _then(_approve("T1"), _refuse("E3")), reason="refused"
    ),
    "item4-expired-after-period-end": ConsentCase(_then(_approve("T1", "E3"), _advance(91)), reason="expired"),
    "item4-in-force-on-last-day": ConsentCase(_then(_approve("T1", "E3"), _advance(90)), allowed=frozenset(ASKED)),
    "item4-employer-changed-needs-new-approval": ConsentCase(
        _then(_approve("T1", "E3"), lambda w, cid: w.move(T1, "20000000000002", w.today)), reason="employer_changed"
    ),
    "rule1-past-affiliations-never-even-with-both-approvals": ConsentCase(
        _approve("T1", "E3"),
        allowed=frozenset({"identity"}),
        asked=("identity", "past_affiliations"),
        reasons={"past_affiliations": "technician_only"},
    ),
}


@pytest.mark.parametrize("case", list(CONSENTS.values()), ids=list(CONSENTS))
def test_consent_states(world: World, case: ConsentCase) -> None:
    """docs/domain.md rule 1 (disclosure to others only with both the technician's and the employer's
    consent) and issue 4 item 4 (states awaiting/active/rejected/expired/revoked, either order)."""
    view = world.request("E4", case.asked)
    case.steps(world, view.id)
    decision = world.decide(case.principal)
    reasons = {g: case.reason for g in case.asked if case.reason} | case.reasons
    _check(decision, case.allowed, reasons)
    if case.allowed:
        assert decision.consent_ids == (view.id,)
        assert decision.rules == ("two-party-consent",)
        assert decision.work_history_sites is WHOLE_HISTORY
    else:
        assert decision.consent_ids == ()
    # a token relying on the consent stops working once it is refused, revoked or expired
    assert world.service.active((view.id,), now=world.now) is (case.reason not in TERMINAL_REASONS)


def test_consent_expires_the_second_the_period_ends(world: World) -> None:
    """Issue 4 item 4: expired means ``period_end < today`` (Japanese date); in force at 23:59:59 JST on
    the last day, expired one second later."""
    view = world.request("E4", ASKED, end=world.today)
    world.approve(view.id, "T1", "E3")
    world.clock.now = datetime.combine(world.today, time(23, 59, 59), tzinfo=ZoneInfo("Asia/Tokyo")).astimezone(UTC)
    assert world.decide("E4").allowed == frozenset(ASKED)
    world.clock.advance(seconds=1)
    _check(world.decide("E4"), NOTHING, {g: "expired" for g in ASKED})
    assert world.service.get(view.id, now=world.now).state == "expired"  # type: ignore[union-attr]


def test_consent_period_ends_at_midnight_in_japan(world: World) -> None:
    """Issue 4 item 4 and rule 1: a consent for 27 Nov ends when 27 Nov ends in Japan (the period is a
    date the technician and employer agreed to, in Japan). At 00:30 JST on 28 Nov it has expired."""
    view = world.request("E4", ASKED, end=world.today)
    world.approve(view.id, "T1", "E3")
    next_day_jst = datetime.combine(world.today + timedelta(days=1), time(0, 30), tzinfo=ZoneInfo("Asia/Tokyo"))
    world.clock.now = next_day_jst.astimezone(UTC)
    _check(world.decide("E4"), NOTHING, {g: "expired" for g in ASKED})


def test_consent_not_started_until_period_start(world: World) -> None:
    """Issue 4 item 4: an approved consent is in force from its first day, not before."""
    view = world.request("E4", ASKED, start=world.today + timedelta(days=1))
    world.approve(view.id, "T1", "E3")
    _check(world.decide("E4"), NOTHING, {g: "not_started" for g in ASKED})
    world.clock.advance(days=1)
    assert world.decide("E4").allowed == frozenset(ASKED)


# -- contact substitution: rule 3 ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("principal", "substituted"),
    [("E4", True), ("C4", True), ("T1", False), ("E3", False)],
    ids=[
        "rule3-third-party-gets-company-contact",
        "rule3-client-gets-company-contact",
        "rule3-technician",
        "rule3-employer",
    ],
)
def test_contact_substitution(world: World, principal: str, substituted: bool) -> None:
    """docs/domain.md rule 3: with the employer's substitution on, anyone but the technician and the
    employer who may see the contact group gets the company's address and phone instead."""
    world.set_contact_substitution(E3)
    view = world.request("E4", ["identity", "contact"])
    world.approve(view.id, "T1", "E3")
    decision = world.decide(principal, groups=("identity", "contact"))
    assert decision.allowed == {"identity", "contact"}
    assert decision.contact_substituted is substituted
    with world.session() as db:
        data = disclose(db, world.technician(db, T1), decision, today=world.today).to_json()
    _, company_address, company_phone = EMPLOYERS[E3]
    if substituted:
        assert (data["address"], data["phone"], data["contact_is_company"]) == (company_address, company_phone, True)
    else:
        assert (data["address"], data["phone"]) == ("東京都足立区9-9-9", "090-9999-0000")
        assert "contact_is_company" not in data


def test_contact_not_substituted_when_switch_is_off(world: World) -> None:
    """docs/domain.md rule 3 is the employer's choice: without it the consented contact is the technician's."""
    view = world.request("E4", ["contact"])
    world.approve(view.id, "T1", "E3")
    decision = world.decide("E4", groups=("contact",))
    assert decision.allowed == {"contact"} and decision.contact_substituted is False
    with world.session() as db:
        data = disclose(db, world.technician(db, T1), decision, today=world.today).to_json()
    assert data == {"address": "東京都足立区9-9-9", "phone": "090-9999-0000"}


def test_substitution_of_another_employer_does_not_apply(world: World) -> None:
    """docs/domain.md rule 3: the switch is the *current* employer's; E4's own switch changes nothing for T1."""
    world.set_contact_substitution(E4)
    view = world.request("E4", ["contact"])
    world.approve(view.id, "T1", "E3")
    assert world.decide("E4", groups=("contact",)).contact_substituted is False


# -- the data builder: issue 4 item 1 --------------------------------------------------------------


@pytest.mark.parametrize("group", ALL_GROUPS, ids=[f"item1-only-{g}" for g in ALL_GROUPS])
def test_disclose_returns_only_fields_of_allowed_groups(world: World, group: str) -> None:
    """Issue 4 item 1: each field is in exactly one group; ``disclose`` returns the allowed groups'
    fields and nothing else (rule 1: nothing of a denied group leaves)."""
    decision = Decision(allowed=frozenset({group}), rules=("test",))
    with world.session() as db:
        data = disclose(db, world.technician(db, T1), decision, today=world.today).to_json()
    assert set(data) == fields_of({group}) == {f for f, g in FIELD_GROUP.items() if g == group}


def test_disclose_everything_has_every_field(world: World) -> None:
    """Issue 4 item 1: the technician (rule 1: everything) gets every key of FIELD_GROUP, no other."""
    decision = world.decide("T1")
    with world.session() as db:
        data = disclose(db, world.technician(db, T1), decision, today=world.today).to_json()
    assert set(data) == set(FIELD_GROUP)
    assert data["past_employers"][0]["employer_id"] == "20000000000007"
    assert data["current_employer"]["employer_id"] == E3


def test_disclose_everything_with_substitution_adds_only_the_marker(world: World) -> None:
    """Issue 4 item 1 and rule 3: every field key plus "contact_is_company", nothing else."""
    world.set_contact_substitution(E3)
    decision = Decision(allowed=EVERYTHING, rules=("test",), contact_substituted=True)
    with world.session() as db:
        data = disclose(db, world.technician(db, T1), decision, today=world.today).to_json()
    assert set(data) == set(FIELD_GROUP) | {"contact_is_company"}


def test_disclose_for_consented_third_party(world: World) -> None:
    """Rule 1 end to end: with every group requested and approved by both, a third party gets every
    field except past employers (technician only), with the whole work history."""
    view = world.request("E4", ALL_GROUPS)
    world.approve(view.id, "T1", "E3")
    decision = world.decide("E4")
    with world.session() as db:
        data = disclose(db, world.technician(db, T1), decision, today=world.today).to_json()
    assert set(data) == set(FIELD_GROUP) - {"past_employers"}
    assert {w["site_id"] for w in data["work_history"]} == {S1, S2}
