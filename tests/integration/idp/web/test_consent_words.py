"""Issue 15, item 10: on the technician's consent page, 許可する is confirmed as 許可しました (not the
employer's 承認しました), and withdrawing a consent asks first — the confirmation names the recipient,
purpose and fields, withdraws nothing by itself, and only the confirmed form withdraws."""

from __future__ import annotations

from datetime import date

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from common.japan_time import local_date
from consent.ports import ConsentPort, ConsentState, Party
from tests.support.web import csrf_of, runtime, sign_in
from tests.support.world import world_of

EMPLOYER = "31000000000018"
VENDOR = "42000000000017"
TECHNICIAN = "10000000000019"
PURPOSE = "入退場管理のための資格確認"


def _pending_request(app: FastAPI) -> tuple[object, str]:
    """The technician, and a request from a vendor's system (started by his employer) awaiting his answer."""
    with Session(runtime(app).engine, expire_on_commit=False) as s:
        world = (
            world_of(app, s)
            .employer(EMPLOYER, "株式会社 山田工務店", address="東京都江東区")
            .employer(VENDOR, "勤怠ソフト株式会社", address="大阪府", phone="06-1234-5678")
            .technician(TECHNICIAN, totp=True, employer=EMPLOYER, since=date(2020, 4, 1))
            .client("勤怠管理システム", ["https://rp.example.jp/cb"], owner_employer=VENDOR)
        )
        s.commit()
    consent: ConsentPort = app.state.consent
    now = runtime(app).clock()
    system = Party(
        "client",
        world.clients["勤怠管理システム"].client.client_id,
        acting_for=Party("company", EMPLOYER, role="admin"),
    )
    views = consent.request(
        system,
        [TECHNICIAN],
        ["qualifications"],
        PURPOSE,
        local_date(now),
        date(local_date(now).year + 1, 3, 31),
        now=now,
        employer_initiated=True,
    )
    return world.logins[TECHNICIAN], views[0].id


def _state(app: FastAPI, consent_id: str) -> tuple[ConsentState, object]:
    consent: ConsentPort = app.state.consent
    view = next(v for v in consent.for_technician(TECHNICIAN, now=runtime(app).clock()) if v.id == consent_id)
    return view.state, view.technician_decision


def test_allow_is_confirmed_as_allowed_and_withdrawal_asks_first(app: FastAPI, client: TestClient) -> None:
    """Issue 15 item 10: 許可しました after 許可する; 同意を取り消す shows a confirmation and withdraws nothing."""
    person, consent_id = _pending_request(app)
    sign_in(client, app, person)
    inbox = client.get("/consent")
    assert f'action="/consent/{consent_id}/approve"' in inbox.text

    allowed = client.post(f"/consent/{consent_id}/approve", data={"csrf_token": csrf_of(inbox.text)})
    assert allowed.status_code == 200 and "notice=consent.done_allow" in str(allowed.url)
    assert '<p class="notice" role="status">許可しました</p>' in allowed.text
    assert "承認しました" not in allowed.text

    # 同意を取り消す: a page that asks, with what would stop; nothing is withdrawn yet.
    asked = client.post(f"/consent/{consent_id}/revoke", data={"csrf_token": csrf_of(allowed.text)})
    assert asked.status_code == 200 and "同意を取り消しますか？" in asked.text
    assert "勤怠管理システム" in asked.text and PURPOSE in asked.text and 'data-group="qualifications"' in asked.text
    assert 'name="confirmed" value="yes"' in asked.text and 'href="/consent" id="revoke-cancel"' in asked.text
    state, decision = _state(app, consent_id)
    assert decision == "approved" and state != ConsentState.revoked

    withdrawn = client.post(
        f"/consent/{consent_id}/revoke",
        data={"csrf_token": csrf_of(asked.text), "page": "/consent", "confirmed": "yes"},
    )
    assert withdrawn.status_code == 200 and "notice=consent.done_revoke" in str(withdrawn.url)
    assert '<p class="notice" role="status">取り消しました</p>' in withdrawn.text
    assert _state(app, consent_id)[0] == ConsentState.revoked


def test_the_confirmation_shows_only_a_consent_of_the_signed_in_party(app: FastAPI, client: TestClient) -> None:
    """Rule 6 (deny by default): another id is 404 on the confirmation page, not someone else's notice."""
    person, _ = _pending_request(app)
    sign_in(client, app, person)
    inbox = client.get("/consent")
    asked = client.post("/consent/not-a-consent/revoke", data={"csrf_token": csrf_of(inbox.text)})
    assert asked.status_code == 404 and "同意依頼が見つかりません" in asked.text
