"""Consent lifecycle on bad input, narrowing, and the hash-chained record (docs/domain.md rules 1 and 6;
issue 4, items 4 and 5), on SQLite and PostgreSQL.

Every refused operation raises :class:`ConsentError` with its stable code and changes nothing: the
request rows, the record rows and the chain head are compared before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, update
from sqlmodel import col, select

from consent.models import ConsentRecord
from consent.ports import ConsentError, Party
from tests.integration.consent.conftest import E3, E4, PURPOSE, T1, T2, World

ASKED = ["identity", "qualifications", "work_history"]


def _refused(world: World, code: str, action: Callable[[], Any], status: int | None = None) -> ConsentError:
    """Run ``action``: it must raise ConsentError ``code`` and leave every consent table unchanged."""
    before = world.snapshot()
    with pytest.raises(ConsentError) as info:
        action()
    assert info.value.code == code, info.value.en
    assert info.value.ja and info.value.en
    if status is not None:
        assert info.value.status == status
    assert world.snapshot() == before
    assert world.service.verify_records()[0]
    return info.value


def _request(world: World, **over: Any) -> Callable[[], Any]:
    values: dict[str, Any] = {
        "requester": world.party("E4"),
        "technician_ids": [T1],
        "groups": ASKED,
        "purpose": PURPOSE,
        "period_start": world.today,
        "period_end": world.today + timedelta(days=30),
    }
    values.update(over)
    return lambda: world.service.request(
        values["requester"],
        values["technician_ids"],
        values["groups"],
        values["purpose"],
        values["period_start"],
        values["period_end"],
        now=world.now,
    )


# -- requests ------------------------------------------------------------------------------------

BAD_REQUESTS: dict[str, tuple[str, Callable[[World], dict[str, Any]]]] = {
    "unknown-field-group": ("unknown_group", lambda w: {"groups": ["identity", "bank_account"]}),
    "no-field-groups": ("unknown_group", lambda w: {"groups": []}),
    "unknown-technician": ("unknown_technician", lambda w: {"technician_ids": [T1, "19999999999999"]}),
    "no-technicians": ("no_technicians", lambda w: {"technician_ids": []}),
    "unknown-requesting-company": ("unknown_requester", lambda w: {"requester": Party("company", "29999999999999")}),
    "unknown-client": ("unknown_requester", lambda w: {"requester": Party("client", "no-such-client")}),
    "unknown-orderer": ("unknown_requester", lambda w: {"requester": Party("orderer", "ORD-9999")}),
    "technician-as-requester": ("unknown_requester", lambda w: {"requester": w.party("T2")}),
    "operator-as-requester": ("unknown_requester", lambda w: {"requester": Party("operator", "root")}),
    "empty-purpose": ("purpose_required", lambda w: {"purpose": ""}),
    "blank-purpose": ("purpose_required", lambda w: {"purpose": " \u3000 "}),
    "purpose-too-long": ("purpose_invalid", lambda w: {"purpose": "あ" * 501}),
    "purpose-with-control-characters": ("purpose_invalid", lambda w: {"purpose": "勤怠\u202e管理"}),
    "period-starts-in-the-past": ("bad_period", lambda w: {"period_start": w.today - timedelta(days=1)}),
    "period-ends-before-it-starts": (
        "bad_period",
        lambda w: {"period_start": w.today + timedelta(days=2), "period_end": w.today + timedelta(days=1)},
    ),
    "period-longer-than-two-years": (
        "period_too_long",
        lambda w: {"period_end": date(w.today.year + 2, w.today.month, w.today.day) + timedelta(days=2)},
    ),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS.values()), ids=[f"item4-{k}" for k in BAD_REQUESTS])
def test_bad_requests_are_refused_and_change_nothing(
    world: World, case: tuple[str, Callable[[World], dict[str, Any]]]
) -> None:
    """Issue 4 item 4 and docs/domain.md rule 1: a request names known technicians, known field groups,
    a registered requester (not a technician), a purpose and a period of at most two years that does
    not start in the past; otherwise nothing is created and nothing is recorded."""
    code, over = case
    _refused(world, code, _request(world, **over(world)))


def test_a_valid_request_is_created_and_recorded(world: World) -> None:
    """Issue 4 item 4: a request starts ``awaiting`` with the employer the technician has now, and
    the record gets one ``consent.requested`` entry per technician (rule 6)."""
    views = _request(world, technician_ids=[T1, T2, T1])()
    assert [(v.technician_id, v.employer_id, v.state) for v in views] == [
        (T1, E3, "awaiting"),
        (T2, "20000000000002", "awaiting"),
    ]
    assert views[0].groups == tuple(ASKED) and views[0].purpose == PURPOSE
    entries = world.service.records_for_technician(T1)
    assert [(e["kind"], e["recipient"], e["items"], e["consent_ids"]) for e in entries] == [
        ("consent.requested", f"company:{E4}", ASKED, [views[0].id])
    ]


def test_two_years_exactly_is_accepted(world: World) -> None:
    """Issue 4 item 4: the longest period is two years (here 2026-11-27 to 2028-11-27)."""
    end = date(world.today.year + 2, world.today.month, world.today.day)
    (view,) = _request(world, period_end=end)()
    assert view.period_end == end


def test_two_years_and_two_days_is_refused_whatever_the_calendar(world: World) -> None:
    """Issue 4 item 4 ("期間が長すぎます（最長2年）"): 2029-03-01 to 2031-03-03 is two years and two days
    (732 days, no 29 February in between) and must be refused like any period over two years."""
    _refused(world, "period_too_long", _request(world, period_start=date(2029, 3, 1), period_end=date(2031, 3, 3)))


def test_employer_initiated_grant_only_for_own_technicians(world: World) -> None:
    """Issue 4 item 4: an employer admin may start a grant to a system for its own technicians only
    (pre-approved on the employer's side); for another company's technician it is refused."""
    client = Party("client", world.client_id, acting_for=Party("company", E3, role="admin"))
    views = world.service.request(
        client,
        [T1],
        ["identity"],
        PURPOSE,
        world.today,
        world.today + timedelta(days=7),
        now=world.now,
        employer_initiated=True,
    )
    assert views[0].employer_decision == "approved" and views[0].technician_decision is None
    other = Party("client", world.client_id, acting_for=Party("company", E4, role="admin"))
    _refused(
        world,
        "not_employer",
        lambda: world.service.request(
            other,
            [T1],
            ["identity"],
            PURPOSE,
            world.today,
            world.today + timedelta(days=7),
            now=world.now,
            employer_initiated=True,
        ),
    )
    staff = Party("client", world.client_id, acting_for=Party("company", E3, role="staff"))
    _refused(
        world,
        "not_employer",
        lambda: world.service.request(
            staff,
            [T1],
            ["identity"],
            PURPOSE,
            world.today,
            world.today + timedelta(days=7),
            now=world.now,
            employer_initiated=True,
        ),
    )


# -- approvals ---------------------------------------------------------------------------------


BAD_DECIDERS = {
    "unrelated-company": ("E4", "not_a_party"),
    "its-client": ("C4", "not_a_party"),
    "prime-contractor": ("E1", "not_a_party"),
    "upper-tier-sub": ("E2", "not_a_party"),
    "another-technician": ("T2", "not_a_party"),
    "orderer": ("O1", "not_a_party"),
    "employer-plain-staff": ("E3:staff", "not_admin"),
}


@pytest.mark.parametrize("verb", ["approve", "refuse", "revoke"])
@pytest.mark.parametrize("case", list(BAD_DECIDERS.values()), ids=[f"rule1-{k}" for k in BAD_DECIDERS])
def test_only_the_technician_and_the_current_employer_admin_decide(
    world: World, case: tuple[str, str], verb: str
) -> None:
    """docs/domain.md rule 1 and issue 4 item 4: only the technician and an administrator of the
    technician's current employer approve, refuse or revoke; anyone else is refused (403)."""
    who, code = case
    view = world.request("E4", ASKED)
    world.approve(view.id, "T1")
    _refused(world, code, lambda: getattr(world.service, verb)(view.id, world.party(who), now=world.now), 403)


def test_former_employer_cannot_decide(world: World) -> None:
    """Issue 4 item 4: after the technician moves, the employer named on the request is no longer the
    current employer and cannot approve; the new employer is not a party to the old request."""
    view = world.request("E4", ASKED)
    world.move("T1", "20000000000002", world.today)
    _refused(world, "not_current_employer", lambda: world.approve(view.id, "E3"), 403)
    _refused(world, "not_a_party", lambda: world.approve(view.id, "E2"), 403)


@pytest.mark.parametrize("who", ["T1", "E3"])
def test_double_approval_is_refused(world: World, who: str) -> None:
    """Issue 4 item 4: each party decides once (409)."""
    view = world.request("E4", ASKED)
    world.approve(view.id, who)
    _refused(world, "already_decided", lambda: world.approve(view.id, who), 409)
    _refused(world, "already_decided", lambda: world.service.refuse(view.id, world.party(who), now=world.now), 409)


def test_approval_of_an_expired_request_is_refused(world: World) -> None:
    """Issue 4 item 4: after ``period_end`` the request is expired and can no longer be approved."""
    view = world.request("E4", ASKED, end=world.today + timedelta(days=3))
    world.approve(view.id, "T1")
    world.clock.advance(days=4)
    _refused(world, "expired", lambda: world.approve(view.id, "E3"), 409)


@pytest.mark.parametrize("ending", ["refuse", "revoke"])
def test_approval_after_refusal_or_revocation_is_refused(world: World, ending: str) -> None:
    """Issue 4 item 4: refused and revoked are final."""
    view = world.request("E4", ASKED)
    getattr(world.service, ending)(view.id, world.party("T1"), now=world.now)
    _refused(world, "closed", lambda: world.approve(view.id, "E3"), 409)


def test_revoking_twice_is_refused(world: World) -> None:
    """Issue 4 item 4: a revoked consent cannot be revoked again (nothing new is recorded)."""
    view = world.request("E4", ASKED)
    world.approve(view.id, "T1", "E3")
    world.service.revoke(view.id, world.party("E3"), now=world.now)
    _refused(world, "already_revoked", lambda: world.service.revoke(view.id, world.party("T1"), now=world.now), 409)


@pytest.mark.parametrize(("side", "party"), [("technician", f"technician:{T1}"), ("employer", f"company:{E3}")])
def test_the_operator_withdraws_on_a_written_request_and_is_recorded_as_actor(
    world: World, side: str, party: str
) -> None:
    """docs/operations.md "Revoking" (rule 1: revocation wins at once): the operator withdraws a consent
    on a written request of the technician or the current employer; the record names the operator as
    actor for that side, with the request's reference, and the chain still verifies."""
    view = world.request("E4", ASKED)
    world.approve(view.id, "T1", "E3")
    ops = Party("operator", "ops")
    done = world.service.revoke_on_request(view.id, ops, side, now=world.now, reference="申請書 2026-0042")
    assert done.state == "revoked"
    with world.session() as db:
        last = db.exec(select(ConsentRecord).order_by(col(ConsentRecord.seq).desc())).first()
    assert last is not None and (last.kind, last.actor) == ("consent.revoked", f"operator:ops for {party}")
    assert last.detail == {"side": side, "reference": "申請書 2026-0042"}
    assert world.service.verify_records()[0]


def test_the_operator_withdraws_only_on_a_rightful_request(world: World) -> None:
    """docs/operations.md "Revoking": the side that asked is checked as if it acted itself — a former
    employer may not, and nobody but the technician or the employer asks —, a reference is required, and
    only an operator withdraws on someone's request; each refusal changes nothing."""
    view = world.request("E4", ASKED)
    world.approve(view.id, "T1", "E3")
    ops = Party("operator", "ops")

    def withdraw(side: str, reference: str = "申請書 1", actor: Party = ops) -> Callable[[], Any]:
        return lambda: world.service.revoke_on_request(view.id, actor, side, now=world.now, reference=reference)

    _refused(world, "no_such_side", withdraw("orderer"))
    _refused(world, "reference_required", withdraw("technician", reference="  "))
    _refused(world, "not_a_party", withdraw("technician", actor=world.party("E4")), 403)
    world.move("T1", "20000000000002", world.today)
    _refused(world, "not_current_employer", withdraw("employer"), 403)
    _refused(
        world,
        "not_found",
        lambda: world.service.revoke_on_request("nope", ops, "technician", now=world.now, reference="x"),
        404,
    )


@pytest.mark.parametrize("verb", ["approve", "refuse", "revoke"])
def test_unknown_consent_is_not_found(world: World, verb: str) -> None:
    """Issue 4 item 4: deciding on a consent that does not exist is a 404 and records nothing."""
    _refused(world, "not_found", lambda: getattr(world.service, verb)("nope", world.party("T1"), now=world.now), 404)


def test_decide_refuses_unknown_groups(world: World) -> None:
    """Issue 4 item 2: a decision is asked for known field groups only."""
    _refused(world, "unknown_group", lambda: world.decide("E4", groups=("identity", "bank_account")))


# -- narrowing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["T1", "E3", "E4"])
def test_narrowing_needs_no_new_approval(world: World, who: str) -> None:
    """Issue 4 item 4: fewer groups or an earlier end take effect at once, without re-approval,
    whether the technician, the employer or the requester narrows; it is recorded (rule 6)."""
    view = world.request("E4", ASKED)
    world.approve(view.id, "T1", "E3")
    end = world.today + timedelta(days=10)
    narrowed = world.service.narrow(view.id, world.party(who), ["identity"], end, now=world.now)
    assert (narrowed.groups, narrowed.period_end, narrowed.state) == (("identity",), end, "active")
    assert world.decide("E4").allowed == {"identity"}
    world.clock.advance(days=11)
    assert world.decide("E4").allowed == frozenset()
    assert world.service.records_for_technician(T1)[-1]["kind"] == "consent.narrowed"


NARROW_REFUSALS: dict[str, tuple[str, str, Callable[[World], tuple[list[str], date]]]] = {
    "item4-widening-groups": ("E4", "widening", lambda w: (["identity", "contact"], w.today + timedelta(days=30))),
    "item4-widening-period": ("T1", "widening", lambda w: (["identity"], w.today + timedelta(days=31))),
    "item4-narrowing-to-nothing": ("T1", "widening", lambda w: ([], w.today + timedelta(days=30))),
    "item4-unknown-group": ("T1", "widening", lambda w: (["bank_account"], w.today + timedelta(days=30))),
    "item4-end-in-the-past": ("T1", "bad_period", lambda w: (["identity"], w.today - timedelta(days=1))),
    "rule1-stranger-cannot-narrow": ("E1", "not_a_party", lambda w: (["identity"], w.today + timedelta(days=30))),
    "rule1-plain-staff-cannot-narrow": ("E3:staff", "not_admin", lambda w: (["identity"], w.today)),
}


@pytest.mark.parametrize("case", list(NARROW_REFUSALS.values()), ids=list(NARROW_REFUSALS))
def test_narrowing_refusals(world: World, case: tuple[str, str, Callable[[World], tuple[list[str], date]]]) -> None:
    """Issue 4 item 4: widening (more groups, a later end) needs a new request and new approval;
    only the parties and the requester may narrow."""
    who, code, args = case
    view = world.request("E4", ASKED, end=world.today + timedelta(days=30))
    world.approve(view.id, "T1", "E3")
    groups, end = args(world)
    _refused(world, code, lambda: world.service.narrow(view.id, world.party(who), groups, end, now=world.now))
    assert world.decide("E4").allowed == frozenset(ASKED)


# -- the record: rule 6 --------------------------------------------------------------------------


def _history(world: World) -> list[str]:
    view = world.request("E4", ASKED)
    world.approve(view.id, "T1")
    world.clock.advance(hours=1)
    world.approve(view.id, "E3")
    decision = world.decide("E4")
    world.service.record_disclosure(
        world.party("E4"), T1, ["name", "qualifications"], decision, now=world.now, channel="api:technicians"
    )
    world.service.narrow(view.id, world.party("T1"), ["identity"], world.today + timedelta(days=5), now=world.now)
    world.service.revoke(view.id, world.party("E3"), now=world.now)
    refused = world.request("E4", ["contact"])
    world.service.refuse(refused.id, world.party("T1"), now=world.now)
    return [view.id, refused.id]


def test_every_consent_event_and_disclosure_is_recorded(world: World) -> None:
    """docs/domain.md rule 6 (APPI art. 29/30): who received what, about whom, on whose consent, when."""
    ids = _history(world)
    entries = world.service.records_for_technician(T1)
    summary = [(e["seq"], e["kind"], e["actor"], e["consent_ids"]) for e in entries]
    assert summary == [
        (1, "consent.requested", f"company:{E4}", [ids[0]]),
        (2, "consent.approved", f"technician:{T1}", [ids[0]]),
        (3, "consent.approved", f"company:{E3}", [ids[0]]),
        (4, "disclosure", "api:technicians", [ids[0]]),
        (5, "consent.narrowed", f"technician:{T1}", [ids[0]]),
        (6, "consent.revoked", f"company:{E3}", [ids[0]]),
        (7, "consent.requested", f"company:{E4}", [ids[1]]),
        (8, "consent.refused", f"technician:{T1}", [ids[1]]),
    ]
    assert all(e["recipient"] == f"company:{E4}" and e["technician_id"] == T1 for e in entries)
    disclosure = entries[3]
    assert disclosure["items"] == ["name", "qualifications"]
    assert disclosure["detail"] == {"rules": "two-party-consent"}
    assert disclosure["at"] == world.now.isoformat()
    assert str(entries[1]["at"]) < str(entries[2]["at"])
    assert world.service.verify_records() == (True, 8, None)


def test_refused_operations_append_nothing(world: World) -> None:
    """docs/domain.md rule 6: only what happened is recorded; a refused approval leaves no entry."""
    view = world.request("E4", ASKED)
    before = world.service.verify_records()
    _refused(world, "not_a_party", lambda: world.approve(view.id, "E4"))
    assert world.service.verify_records() == before == (True, 1, None)


def test_tampering_with_a_record_is_detected_at_its_seq(world: World) -> None:
    """docs/domain.md rule 6: the record is hash-chained; changing a stored entry's items (here, hiding
    that contact data was disclosed) makes verification fail at that entry."""
    _history(world)
    with world.session() as db:
        db.exec(update(ConsentRecord).where(col(ConsentRecord.seq) == 4).values(items=["name"]))
        db.commit()
    assert world.service.verify_records() == (False, 3, "4")


def test_changing_a_records_time_or_recipient_is_detected(world: World) -> None:
    """docs/domain.md rule 6: every recorded field is covered by the hash (recipient and time here)."""
    _history(world)
    with world.session() as db:
        db.exec(update(ConsentRecord).where(col(ConsentRecord.seq) == 2).values(recipient="company:20000000000001"))
        db.commit()
    assert world.service.verify_records() == (False, 1, "2")


def test_deleting_the_last_record_is_detected(world: World) -> None:
    """docs/domain.md rule 6: removing the newest entry is found by the chain head."""
    _history(world)
    with world.session() as db:
        db.exec(delete(ConsentRecord).where(col(ConsentRecord.seq) == 8))
        db.commit()
    assert world.service.verify_records() == (False, 7, "8")


def test_deleting_a_middle_record_is_detected(world: World) -> None:
    """docs/domain.md rule 6: removing an entry in the middle breaks the sequence at the next entry."""
    _history(world)
    with world.session() as db:
        db.exec(delete(ConsentRecord).where(col(ConsentRecord.seq) == 3))
        db.commit()
    assert world.service.verify_records() == (False, 2, "4")


def test_records_with_a_japan_time_now_still_verify(world: World) -> None:
    """docs/domain.md rule 6: the record verifies whatever time zone the caller's aware ``now`` is in."""
    view = world.request("E4", ASKED)
    world.service.approve(view.id, world.party("T1"), now=world.now.astimezone(ZoneInfo("Asia/Tokyo")))
    assert world.service.verify_records() == (True, 2, None)


# -- the receipt: issue 4 item 5 -------------------------------------------------------------------

KANTARA_TOP = {
    "version",
    "jurisdiction",
    "consentTimestamp",
    "collectionMethod",
    "consentReceiptID",
    "language",
    "piiPrincipalId",
    "piiControllers",
    "policyUrl",
    "services",
    "sensitive",
    "spiCat",
}
KANTARA_CONTROLLER = {"piiController", "contact", "address", "email", "phone"}
KANTARA_PURPOSE = {
    "purpose",
    "purposeCategory",
    "consentType",
    "piiCategory",
    "primaryPurpose",
    "termination",
    "thirdPartyDisclosure",
    "thirdPartyName",
}


def test_receipt_has_the_kantara_v1_1_fields(world: World) -> None:
    """Kantara Consent Receipt Specification v1.1 §4 (receipt for each consent; issue 4): the
    mandatory fields, the controller, one service with its purpose, and the consented categories."""
    view = world.request("E4", ASKED)
    world.approve(view.id, "T1", "E3")
    receipt: dict[str, Any] | None = world.service.receipt(view.id, now=world.now)
    assert receipt is not None
    assert set(receipt) >= KANTARA_TOP
    assert receipt["version"] == "KI-CR-v1.1.0"
    assert receipt["jurisdiction"] == "JP"
    assert receipt["consentReceiptID"] == view.id
    assert receipt["piiPrincipalId"] == T1
    assert receipt["consentTimestamp"] == int(world.now.timestamp())
    assert isinstance(receipt["sensitive"], bool) and isinstance(receipt["spiCat"], list)
    (controller,) = receipt["piiControllers"]
    assert set(controller) >= KANTARA_CONTROLLER
    (service,) = receipt["services"]
    assert service["service"] == "無関係商事"
    (purpose,) = service["purposes"]
    assert set(purpose) >= KANTARA_PURPOSE
    assert purpose["purpose"] == PURPOSE
    assert len(purpose["piiCategory"]) == len(ASKED)
    assert purpose["thirdPartyDisclosure"] is True
    assert receipt["state"] == "active"
    assert world.service.receipt("nope", now=world.now) is None
