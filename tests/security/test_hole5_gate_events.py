"""Hole 5 (issue 12): gate staff wrote work history without any presentation — ``POST /gate/events``
(cookie auth, ``text/plain`` accepted) with ``ok: true``, any technician and any date (2020, 2031) was
stored and appeared in the technician's 就業履歴.

Mechanism: work history only from verified presentations (wallet/gate/upload.py, wallet/gate/guard.py).
The server verifies each green offline event's presentation again and records the entry from its own
result with the evidence (nonce, card digest); one entry per challenge nonce; no time in the future;
the staff's own queue only; JSON from this origin only.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import date

from sqlmodel import Session, col, select

from idp.models import Technician
from register.models import WorkRecord
from tests.security.conftest import DEMO_PRIME, DEMO_SITE, DEMO_TECHNICIAN
from tests.support import gate_http
from tests.support.http_user import Credentials, HttpUser
from tests.support.server import LiveServer


def gate_staff(server: LiveServer, staff: Callable[..., Credentials], users: Callable[..., HttpUser]) -> HttpUser:
    return users(server, staff(employer_id=DEMO_PRIME, role="staff")).sign_in()


def history_on(server: LiveServer, days: list[date]) -> list[WorkRecord]:
    with server.database() as engine, Session(engine) as db:
        technician = db.exec(select(Technician).where(col(Technician.technician_id) == DEMO_TECHNICIAN)).one()
        rows = db.exec(
            select(WorkRecord)
            .where(col(WorkRecord.technician_pk) == technician.id)
            .where(col(WorkRecord.work_date).in_(days))
        ).all()
        return list(rows)


def test_text_plain_and_form_posts_are_refused_before_anything_is_stored(
    server: LiveServer, staff: Callable[..., Credentials], users: Callable[..., HttpUser]
) -> None:
    """Issue 12 mechanism "every cookie-authenticated state change, JSON included, is protected against
    CSRF (content type …)": a cross-site page can send text/plain or a form with the staff's cookie
    without a CORS preflight, so only application/json is taken (415 otherwise)."""
    gate = gate_staff(server, staff, users)
    forged = [
        {"site_id": DEMO_SITE, "gate_id": "h5-plain", "technician_id": DEMO_TECHNICIAN, "direction": "in"}
        | {"at": int(time.time()), "ok": True, "reasons": [], "event_key": "f" * 40}
    ]
    plain = gate.post("/gate/events", content=json.dumps(forged), headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415, plain.text[:300]
    form = gate.post("/gate/events", data={"x": json.dumps(forged)})
    assert form.status_code == 415, form.text[:300]
    assert gate_http.gate_rows(server, DEMO_SITE, "h5-plain") == ([], [])


def test_a_cross_site_json_post_is_refused(
    server: LiveServer, staff: Callable[..., Credentials], users: Callable[..., HttpUser]
) -> None:
    """Fetch Metadata and Origin (RFC 6454 §7): a request the browser says comes from another site is refused."""
    gate = gate_staff(server, staff, users)
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}, {"Origin": "null"}):
        answer = gate.post("/gate/events", content="[]", headers=gate_http.JSON | headers)
        assert answer.status_code == 403, (headers, answer.status_code, answer.text[:200])
        asked = gate.post(
            "/gate/requests",
            content=json.dumps({"site_id": DEMO_SITE, "gate_id": "h5-x"}),
            headers=gate_http.JSON | headers,
        )
        assert asked.status_code == 403, (headers, asked.status_code)


def test_green_events_without_a_presentation_or_in_the_future_make_no_work_history(
    server: LiveServer, staff: Callable[..., Credentials], users: Callable[..., HttpUser]
) -> None:
    """Issue 12 hole 5 as reported: ``ok: true``, any technician, dates in 2020 and 2031, no presentation.
    Nothing becomes an entry or 就業履歴; the one in the future is rejected outright, the other is kept
    as a refusal saying there was no presentation."""
    gate = gate_staff(server, staff, users)
    assert gate.who is not None
    past, future = int(time.mktime((2020, 6, 1, 9, 0, 0, 0, 0, -1))), int(time.mktime((2031, 6, 2, 9, 0, 0, 0, 0, -1)))
    forged = [
        {"site_id": DEMO_SITE, "gate_id": "h5-forged", "technician_id": DEMO_TECHNICIAN, "direction": "in"}
        | {"at": at, "ok": True, "reasons": [], "event_key": key * 40, "recorded_by": gate.who.username}
        for at, key in ((past, "a"), (future, "b"))
    ]
    answer = gate.post("/gate/events", content=json.dumps(forged), headers=gate_http.JSON)
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json() == {
        "recorded": 0,
        "duplicate": 0,
        "refusals": 0,
        "rejected": 1,
        "unverified": 1,
        "history_refused": 0,
    }
    events, refusals = gate_http.gate_rows(server, DEMO_SITE, "h5-forged")
    assert events == []
    assert [r.reason_code for r in refusals] == ["no_presentation"]
    assert history_on(server, [date(2020, 6, 1), date(2031, 6, 2)]) == []


def test_a_verified_presentation_is_recorded_once_with_what_was_verified(
    server: LiveServer, staff: Callable[..., Credentials], users: Callable[..., HttpUser]
) -> None:
    """The positive side, and what staff could still try with a real presentation: the entry names the
    technician of the card that verified (not the uploaded ``technician_id``) and carries the nonce and
    the card's digest; the same presentation uploaded again as an exit, or at another time than its key
    binding says, is refused (each challenge nonce makes one entry)."""
    gate = gate_staff(server, staff, users)
    assert gate.who is not None
    held = gate_http.wallet_of(server, DEMO_TECHNICIAN)
    bundle = gate_http.sync(gate, DEMO_SITE, "h5-real")
    c = gate_http.challenge(DEMO_SITE, "h5-real")
    presentation = gate_http.frames(held, bundle, c)
    entry = gate_http.queued(c, presentation, by=gate.who.username, technician_id="10000000000027")
    first = gate.post("/gate/events", content=json.dumps([entry]), headers=gate_http.JSON)
    assert first.status_code == 200 and first.json()["recorded"] == 1, first.text[:300]
    replays = [
        gate_http.queued(c, presentation, by=gate.who.username, direction="out"),
        gate_http.queued(c, presentation, by=gate.who.username, at=int(time.time()) + 120),
    ]
    again = gate.post("/gate/events", content=json.dumps(replays), headers=gate_http.JSON)
    assert again.status_code == 200, again.text[:300]
    assert again.json()["unverified"] == 2 and again.json()["recorded"] == 0, again.json()
    [event], refusals = gate_http.gate_rows(server, DEMO_SITE, "h5-real")
    assert event.technician_id == DEMO_TECHNICIAN and event.nonce == c.nonce and event.direction == "in"
    card = gate_http.card_of(held).sd_jwt.split("~", 1)[0]
    assert event.credential_digest == hashlib.sha256(card.encode()).hexdigest()
    assert event.evidence is not None and event.evidence["verified"] is True
    assert event.evidence["audience"] == f"genba-gate:{DEMO_SITE}:h5-real"
    assert event.recorded_by == gate.who.username
    assert sorted(r.reason_code for r in refusals) == ["invalid_kb_iat", "replayed"], [r.reason for r in refusals]


def test_another_staff_members_queue_is_refused(
    server: LiveServer, staff: Callable[..., Credentials], users: Callable[..., HttpUser]
) -> None:
    """Issue 12 item 10 (bind the queue to the staff who recorded it): a queue recorded by someone
    else is not taken from this session, even with a genuine presentation in it."""
    gate = gate_staff(server, staff, users)
    held = gate_http.wallet_of(server, DEMO_TECHNICIAN)
    bundle = gate_http.sync(gate, DEMO_SITE, "h5-other")
    c = gate_http.challenge(DEMO_SITE, "h5-other")
    theirs = gate_http.queued(c, gate_http.frames(held, bundle, c), by=f"{DEMO_PRIME}-someone-else")
    answer = gate.post("/gate/events", content=json.dumps([theirs]), headers=gate_http.JSON)
    assert answer.status_code == 200 and answer.json()["rejected"] == 1, answer.text[:300]
    assert gate_http.gate_rows(server, DEMO_SITE, "h5-other") == ([], [])
