"""The offline gate's two online moments (docs/offline-gate.md §1 and §4): the sync (``GET /gate/sync``,
signed-in staff of the site's prime contractor) and the upload of checks made offline
(``POST /gate/events``). The roster carries only roster fields and is recorded as a disclosure; red
results are recorded as refusals with their reasons; the same event uploaded twice is recorded once and
makes one work record (就業履歴) per technician, site and day; sites the staff do not run are refused."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from common.japan_time import local_date
from register.attendance.models import AttendanceEvent, AttendanceMonth
from register.models import WorkRecord
from tests.integration.wallet.gate.conftest import event_count, refusals
from tests.support.clock import FrozenClock
from tests.support.gate_world import (
    ADDRESS,
    NAME,
    OTHER_SITE,
    PAST_EMPLOYER_NAME,
    PHONE,
    SITE,
    SUB,
    TECHNICIAN,
    GateWorld,
    another_technician,
    challenge,
    challenge_text,
    offline_frames,
    set_credential_status,
    untrusted_copy,
)
from tests.support.web import sign_in
from wallet import status
from wallet.gate.check import GateResult
from wallet.gate.codec import Challenge
from wallet.gate.models import GateEvent
from wallet.gate.offline_check import verify_offline

ROSTER_FIELDS = {"technician_id", "name", "name_kana", "employer_name", "tier", "role", "level", "photo"}


def sync(gate: TestClient, site_id: str = SITE) -> dict[str, Any]:
    answer = gate.get("/gate/sync", params={"site_id": site_id, "gate_id": "north"})
    assert answer.status_code == 200, answer.text
    assert "no-store" in answer.headers["cache-control"]
    body: dict[str, Any] = answer.json()
    return body


STAFF = "31000000000034-gate"  # the gate staff's username (tests/support/gate_world.py)


def event(
    result: GateResult,
    c: Challenge,
    direction: str,
    at: int,
    site_id: str = SITE,
    *,
    frames: list[str] | None = None,
    by: str = STAFF,
) -> dict[str, Any]:
    """What the gate page queues (IndexedDB) after a check, per docs/offline-gate.md §4-5: the result,
    the challenge shown and the presentation read (the server verifies it again), and who recorded it."""
    return {
        "event_key": result.event_key,
        "site_id": site_id,
        "gate_id": c.gate_id,
        "technician_id": result.technician_id,
        "direction": direction,
        "at": at,
        "ok": result.ok,
        "reasons": result.reasons,
        "recorded_by": by,
        "challenge": challenge_text(c),
        "presentation": frames or [],
    }


def upload(gate: TestClient, events: list[dict[str, Any]]) -> dict[str, int]:
    answer = gate.post("/gate/events", content=json.dumps(events), headers={"Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    counts: dict[str, int] = answer.json()
    return counts


def counts(**nonzero: int) -> dict[str, int]:
    keys = ("recorded", "duplicate", "refusals", "rejected", "unverified", "history_refused")
    return {k: nonzero.get(k, 0) for k in keys}


def work_records(app: FastAPI) -> list[WorkRecord]:
    with Session(app.state.wallet.engine) as s:
        return list(s.exec(select(WorkRecord)).all())


# -- sync ------------------------------------------------------------------------------------------


def test_sync_roster_has_only_roster_fields_and_is_recorded_as_a_disclosure(
    app: FastAPI, world: GateWorld, gate: TestClient, client: TestClient, clock: FrozenClock
) -> None:
    bundle = sync(gate)
    [entry] = bundle["roster"]
    assert set(entry) == ROSTER_FIELDS
    assert (entry["technician_id"], entry["name"], entry["role"], entry["level"]) == (TECHNICIAN, NAME, "職長", 3)
    assert entry["employer_name"] == "株式会社 山田工務店" and entry["tier"] == 1
    text = json.dumps(bundle, ensure_ascii=False)
    for private in (ADDRESS, PHONE, "1985-04-12", PAST_EMPLOYER_NAME, "31000000000026"):
        assert private not in text, private
    assert all("d" not in key for key in bundle["issuer_keys"])  # public keys only
    records = app.state.consent.records_for_technician(TECHNICIAN)
    synced = [r for r in records if r["kind"] == "disclosure" and r["actor"] == f"gate-sync:{SITE}"]
    assert len(synced) == 1, records
    assert "31000000000034" in synced[0]["recipient"] and "name" in synced[0]["items"]
    # every sync is a disclosure of its own
    clock.advance(seconds=60)
    sync(gate)
    again = [r for r in app.state.consent.records_for_technician(TECHNICIAN) if r["actor"] == f"gate-sync:{SITE}"]
    assert len(again) == 2
    # another company's site, and no one signed in: refused
    assert gate.get("/gate/sync", params={"site_id": OTHER_SITE}).status_code == 403
    assert client.get("/gate/sync", params={"site_id": SITE}).status_code == 403


def test_operator_and_bundle_name_the_site_its_prime_contractor_and_the_staff(gate: TestClient) -> None:
    """Issue 15 item 6 (names, not codes): /gate/operator and the sync bundle carry the site's name, its
    prime contractor's and the staff member's display name, so that the tablet shows them offline too."""
    who = gate.get("/gate/operator").json()
    assert who["username"] == STAFF and who["display_name"] == "門番 太郎"
    assert who["site_names"] == {SITE: {"name": f"{SITE} 新築工事", "prime_name": "株式会社 東京ゼネコン"}}
    bundle = sync(gate)
    assert (bundle["site_name"], bundle["prime_name"], bundle["synced_by"]) == (
        f"{SITE} 新築工事",
        "株式会社 東京ゼネコン",
        "門番 太郎",
    )


def test_the_sync_disclosure_record_lists_only_what_the_roster_sent(
    app: FastAPI, world: GateWorld, gate: TestClient
) -> None:
    sync(gate)
    [record] = [r for r in app.state.consent.records_for_technician(TECHNICIAN) if r["actor"] == f"gate-sync:{SITE}"]
    assert "birth_date" not in record["items"] and "social_insurance" not in record["items"], record["items"]


# -- upload ------------------------------------------------------------------------------------------


def test_offline_red_results_are_uploaded_as_refusals_with_reasons(
    app: FastAPI, world: GateWorld, gate: TestClient, clock: FrozenClock, subtests: pytest.Subtests
) -> None:
    """Each bad input checked offline is red at the gate and, once uploaded, a GateRefusal with the
    reason; nothing of it becomes an entry."""
    bundle = sync(gate)
    now = clock()
    iat = int(now.timestamp())
    results: list[tuple[str, GateResult, Challenge]] = []

    def check(
        name: str, c: Challenge, frames: list[str], code: str | None, *, data: dict[str, Any] | None = None
    ) -> None:
        with subtests.test(msg=name):
            result = verify_offline(frames, c, data or bundle, now=clock(), direction="in")
            assert result.ok is False and result.reasons, result
            assert code is None or result.reasons[0]["code"] == code, result.reasons
            results.append((name, result, c))

    c = challenge(now)
    good = offline_frames(world, bundle, c, iat=iat)
    check("garbage QR", c, ["GP1:not-a-presentation"], "unreadable")
    check("truncated QR", c, [good[0][:200]] if len(good) == 1 else good[:-1], "unreadable")
    check("replayed presentation", challenge(now), good, "invalid_kb_nonce")
    check("wrong site", challenge(now, site_id=OTHER_SITE), good, "wrong_site")
    check("gate clock far off", c, good, "gate_clock", data=dict(bundle, generated_at=iat - 3 * 24 * 3600))
    crane = challenge(now, work_kind="crane")
    check(
        "crane work without 玉掛け",
        crane,
        offline_frames(world, bundle, crane, iat=iat, swap={"course_tamakake": None}),
        "missing_credential",
    )
    forged = untrusted_copy(world.card, now)
    check("untrusted issuer", c, offline_frames(world, bundle, c, iat=iat, swap={"ccus_card": forged}), None)
    set_credential_status(app, world.card, status.INVALID, reason="card returned")
    clock.advance(seconds=5)
    resynced = sync(gate)
    c2 = challenge(clock())
    check(
        "revoked card", c2, offline_frames(world, resynced, c2, iat=int(clock().timestamp())), "revoked", data=resynced
    )
    later = clock() + timedelta(hours=12, minutes=6)
    c3 = challenge(later)
    with subtests.test(msg="status list older than ttl + grace"):
        frames = offline_frames(world, resynced, c3, iat=int(later.timestamp()))
        result = verify_offline(frames, c3, resynced, now=later, direction="in")
        assert result.reasons[0]["code"] == "status_list_stale" and "sync the gate" in result.reasons[0]["en"]
        results.append(("stale status list", result, c3))

    answered = upload(gate, [event(r, c, "in", int(clock().timestamp())) for _, r, c in results])
    assert answered == counts(refusals=len(results)), answered
    rows = refusals(app.state.wallet.engine)
    assert [r.reason_code for r in rows] == [r.reasons[0]["code"] for _, r, _ in results]
    for row, (_, result, _) in zip(rows, results, strict=True):
        assert row.mode == "offline" and row.site_id == SITE and row.gate_id == "north"
        assert result.reasons[0]["ja"] in row.reason and result.reasons[0]["en"] in row.reason
    assert event_count(app.state.wallet.engine) == 0 and work_records(app) == []


def test_the_same_offline_entry_uploaded_twice_is_recorded_once_with_one_work_record(
    app: FastAPI, world: GateWorld, gate: TestClient, clock: FrozenClock
) -> None:
    """§4: the server records each event key once (a queue replayed after a restart duplicates
    nothing); entry and exit on the same day update one 就業履歴 record."""
    bundle = sync(gate)
    entered = clock()  # 10:00 in Japan
    c_in = challenge(entered)
    result_in = verify_offline(
        offline_frames(world, bundle, c_in, iat=int(entered.timestamp())), c_in, bundle, now=entered, direction="in"
    )
    left = entered + timedelta(hours=8)  # 18:00 the same day; the synced list is 8 h old, still fresh
    c_out = challenge(left)
    result_out = verify_offline(
        offline_frames(world, bundle, c_out, iat=int(left.timestamp())), c_out, bundle, now=left, direction="out"
    )
    assert result_in.ok and result_out.ok, (result_in.reasons, result_out.reasons)
    assert result_in.event_key != result_out.event_key
    frames_in = offline_frames(world, bundle, c_in, iat=int(entered.timestamp()))
    frames_out = offline_frames(world, bundle, c_out, iat=int(left.timestamp()))
    entry = event(result_in, c_in, "in", int(entered.timestamp()), frames=frames_in)
    leave = event(result_out, c_out, "out", int(left.timestamp()), frames=frames_out)
    clock.now = left + timedelta(minutes=30)  # the network is back; the staff sign in again
    sign_in(gate, app, world.staff)
    assert upload(gate, [entry, entry]) == counts(recorded=1, duplicate=1)
    assert upload(gate, [entry, leave]) == counts(recorded=1, duplicate=1)
    assert upload(gate, [leave, entry]) == counts(duplicate=2)
    assert event_count(app.state.wallet.engine) == 2
    with Session(app.state.wallet.engine) as s:
        modes = {e.direction: e.mode for e in s.exec(select(GateEvent)).all()}
    assert modes == {"in": "offline", "out": "offline"}
    [record] = work_records(app)
    assert record.work_date == local_date(entered)
    assert record.entry_at == entered and record.exit_at == left
    assert record.role == "職長"
    # issue 16: each event is kept for attendance with its source, and the month follows the upload
    with Session(app.state.wallet.engine) as s:
        kept = sorted((e.kind, e.source, e.verified) for e in s.exec(select(AttendanceEvent)).all())
        month = s.exec(select(AttendanceMonth)).one()
    assert kept == [("entry", "offline", True), ("exit", "offline", True)]
    assert (month.employer_id, month.kentaikyo_days, month.worked_minutes) == (SUB, 1, 8 * 60 - 60)


def test_uploads_for_a_site_the_staff_do_not_run_are_rejected(
    app: FastAPI, world: GateWorld, gate: TestClient, client: TestClient, clock: FrozenClock
) -> None:
    bundle = sync(gate)
    c = challenge(clock())
    frames = offline_frames(world, bundle, c, iat=int(clock().timestamp()))
    result = verify_offline(frames, c, bundle, now=clock(), direction="in")
    assert result.ok
    foreign = event(result, c, "in", int(clock().timestamp()), site_id=OTHER_SITE, frames=frames)
    refused = dict(foreign, ok=False, reasons=[{"code": "x", "ja": "x", "en": "x"}])
    assert upload(gate, [foreign, refused]) == counts(rejected=2)
    signed_out = client.post(
        "/gate/events", content=json.dumps([event(result, c, "in", 0)]), headers={"Content-Type": "application/json"}
    )
    assert signed_out.status_code == 403
    assert event_count(app.state.wallet.engine) == 0 and refusals(app.state.wallet.engine) == []
    assert work_records(app) == []


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("a time far in the future", {"at": 10**20}),
        ("reasons that are not a list", {"reasons": 5}),
        ("a direction that is neither in nor out", {"direction": "sideways"}),
        ("a site that is not a string", {"site_id": ["x"]}),
        ("no time", {"at": None}),
    ],
)
def test_a_malformed_event_is_rejected_not_a_server_error(
    app: FastAPI, world: GateWorld, gate: TestClient, clock: FrozenClock, name: str, bad: dict[str, Any]
) -> None:
    """One malformed event in a queue is counted as rejected; the others are still recorded."""
    base = {"event_key": "k" * 40, "site_id": SITE, "gate_id": "north", "technician_id": TECHNICIAN}
    base |= {"direction": "in", "at": int(clock().timestamp()), "ok": False, "reasons": [], "recorded_by": STAFF}
    with TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as raw:
        raw.cookies = gate.cookies
        answer = raw.post(
            "/gate/events", content=json.dumps([base | bad, base]), headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 200, (name, answer.status_code, answer.text[:300])
    assert answer.json()["rejected"] == 1 and answer.json()["refusals"] == 1


def test_an_entry_of_someone_not_on_the_roster_does_not_lose_the_queue(
    app: FastAPI, world: GateWorld, gate: TestClient, clock: FrozenClock
) -> None:
    """A green offline check of a technician with no assignment on the site (a visitor with a valid card)
    uploaded in the same queue as an assigned technician's entry: the assigned one still gets its
    work record, and the upload answers."""
    bundle = sync(gate)
    json_body = {"Content-Type": "application/json"}
    c = challenge(clock())
    frames = offline_frames(world, bundle, c, iat=int(clock().timestamp()))
    result = verify_offline(frames, c, bundle, now=clock(), direction="in")
    assert result.ok
    mine = event(result, c, "in", int(clock().timestamp()), frames=frames)
    # a visitor with a valid card of their own, not assigned to the site
    other = another_technician(app, gate, technician_id="10000000000027", name="佐藤 次郎")
    c2 = challenge(clock())
    frames2 = offline_frames(other, bundle, c2, iat=int(clock().timestamp()))
    checked = verify_offline(frames2, c2, bundle, now=clock(), direction="in")
    assert checked.ok and checked.technician_id == "10000000000027", checked.reasons
    visitor = event(checked, c2, "in", int(clock().timestamp()), frames=frames2)
    with TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as raw:
        raw.cookies = gate.cookies
        answer = raw.post("/gate/events", content=json.dumps([visitor, mine]), headers=json_body)
        retried = raw.post("/gate/events", content=json.dumps([visitor, mine]), headers=json_body)  # retried queue
    assert len(work_records(app)) == 1, (answer.status_code, retried.status_code, retried.text[:200])
    assert answer.status_code == 200, answer.text[:300]
    # both entries are kept as gate events; the visitor's work history is refused and counted
    assert answer.json()["recorded"] == 2 and answer.json()["history_refused"] == 1, answer.json()
    assert retried.json()["duplicate"] == 2 and retried.json()["recorded"] == 0, retried.json()


def test_a_refusal_uploaded_again_after_a_lost_reply_is_recorded_once(
    app: FastAPI, world: GateWorld, gate: TestClient, clock: FrozenClock
) -> None:
    """docs/offline-gate.md §4 (the queue is retried until the server answers): the gate page keys
    every check, red ones too, so a retried upload of a refusal adds no second GateRefusal."""
    bundle = sync(gate)
    c = challenge(clock())
    result = verify_offline(["GP1:not-a-presentation"], c, bundle, now=clock(), direction="in")
    assert not result.ok
    red = event(result, c, "in", int(clock().timestamp())) | {"event_key": "r" * 40}
    other = red | {"event_key": "s" * 40}
    assert upload(gate, [red]) == counts(refusals=1)
    assert upload(gate, [red, other]) == counts(refusals=1, duplicate=1)
    assert len(refusals(app.state.wallet.engine)) == 2
