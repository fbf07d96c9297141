"""Sign-in with password + TOTP, recovery codes, sessions and sign-out (issue 2, item 6), on every backend."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from idp import totp
from idp.models import AuditEvent, WebSession
from idp.sessions import hash_id
from tests.support.clock import FrozenClock
from tests.support.web import code_now, csrf_of, make_technician, password_step, runtime, sign_in


def _otp_post(client: TestClient, code: str) -> int:
    page = client.get("/login/otp")
    return client.post(
        "/login/otp", data={"otp": code, "csrf_token": csrf_of(page.text)}, follow_redirects=False
    ).status_code


def test_password_and_totp_sign_in_records_amr_and_acr(app: FastAPI, client: TestClient, db: Session) -> None:
    """RFC 8176 amr pwd+otp; the session id changes at each sign-in step (OWASP session fixation)."""
    person = make_technician(app)
    status, location = password_step(client, "１０００００００００００１９", person.password)  # full-width digits
    assert (status, location) == (303, "/login/otp")
    pending_cookie = client.cookies.get("genba_session")
    assert _otp_post(client, code_now(app, person)) == 303
    active_cookie = client.cookies.get("genba_session")
    assert active_cookie and active_cookie != pending_cookie
    ws = db.get(WebSession, hash_id(active_cookie))
    assert ws is not None and ws.state == "active"
    assert ws.amr == ["pwd", "otp", "mfa"] and ws.acr == "urn:genba:acr:aal2"
    assert db.get(WebSession, hash_id(pending_cookie or "")) is None
    page = client.get("/account")
    assert page.status_code == 200 and "鈴木 一郎" in page.text and "10000000000019" in page.text


def test_cookie_is_httponly_and_samesite_lax(app: FastAPI, client: TestClient) -> None:
    person = make_technician(app)
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": person.username, "password": person.password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie


def test_wrong_password_and_unknown_user_get_the_same_answer(app: FastAPI, client: TestClient) -> None:
    """No username enumeration: the same status and message for both (OWASP Authentication)."""
    make_technician(app)
    status_wrong, body_wrong = password_step(client, "10000000000019", "wrong password!!")
    status_unknown, body_unknown = password_step(client, "10000000000027", "wrong password!!")
    assert status_wrong == status_unknown == 401
    assert (
        "IDまたはパスワードが正しくありません" in body_wrong and "IDまたはパスワードが正しくありません" in body_unknown
    )
    assert "genba_session" not in client.cookies


def test_replayed_totp_code_is_refused(app: FastAPI, client: TestClient) -> None:
    """RFC 6238 §5.2: a code accepted once is not accepted again within its window."""
    person = make_technician(app)
    code = code_now(app, person)
    password_step(client, person.username, person.password)
    assert _otp_post(client, code) == 303
    client.cookies.clear()
    password_step(client, person.username, person.password)
    assert _otp_post(client, code) == 401


def test_totp_from_an_earlier_step_cannot_follow_a_later_one(
    app: FastAPI, client: TestClient, clock: FrozenClock
) -> None:
    person = make_technician(app)
    assert person.totp_secret
    earlier = totp.current_code(person.totp_secret, now=clock.now)
    clock.advance(seconds=30)
    password_step(client, person.username, person.password)
    assert _otp_post(client, code_now(app, person)) == 303
    client.cookies.clear()
    password_step(client, person.username, person.password)
    assert _otp_post(client, earlier) == 401  # still inside the drift window, but older than the last used step


def test_recovery_code_works_once(app: FastAPI, client: TestClient, db: Session) -> None:
    from idp import recovery

    person = make_technician(app)
    codes = recovery.replace_codes(session=db, account_id=person.account_id, rng=runtime(app).rng)
    db.commit()
    for expected in (303, 401):
        client.cookies.clear()
        password_step(client, person.username, person.password)
        page = client.get("/login/recovery")
        response = client.post(
            "/login/recovery",
            data={"recovery_code": codes[0].upper(), "csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
        assert response.status_code == expected


def test_pending_sign_in_expires(app: FastAPI, client: TestClient, clock: FrozenClock) -> None:
    person = make_technician(app)
    password_step(client, person.username, person.password)
    clock.advance(minutes=11)
    page = client.get("/login/otp")
    assert page.status_code == 401 and "有効期限" in page.text


def test_account_without_second_factor_must_enrol_before_signing_in(app: FastAPI, client: TestClient) -> None:
    person = make_technician(app, with_totp=False)
    status, location = password_step(client, person.username, person.password)
    assert (status, location) == (303, "/login/enrol")
    assert client.get("/account", follow_redirects=False).status_code == 303  # not signed in yet
    page = client.get("/login/enrol")
    secret = page.text.split('id="totp-secret">')[1].split("<")[0]
    bad = client.post("/login/enrol", data={"otp": "000000", "csrf_token": csrf_of(page.text)})
    assert bad.status_code == 400
    code = totp.current_code(secret, now=runtime(app).clock())
    done = client.post("/login/enrol", data={"otp": code, "csrf_token": csrf_of(page.text)})
    assert done.status_code == 200 and done.text.count("<li><code>") == 10  # recovery codes shown once
    assert client.get("/account").status_code == 200


def test_idle_and_absolute_session_expiry(app: FastAPI, client: TestClient, clock: FrozenClock) -> None:
    person = make_technician(app)
    sign_in(client, app, person)
    clock.advance(minutes=29)
    assert client.get("/account", follow_redirects=False).status_code == 200
    clock.advance(minutes=31)  # idle for 31 minutes > 30
    assert client.get("/account", follow_redirects=False).status_code == 303
    client.cookies.clear()
    clock.advance(seconds=60)  # new OTP step
    sign_in(client, app, person)
    for _ in range(25):  # stay active, but past the 12 h absolute lifetime
        clock.advance(minutes=29)
        client.get("/account", follow_redirects=False)
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_sign_out_and_sign_out_everywhere(app: FastAPI, clock: FrozenClock, db: Session) -> None:
    person = make_technician(app)
    with TestClient(app, base_url="http://localhost") as phone, TestClient(app, base_url="http://localhost") as pc:
        sign_in(phone, app, person)
        clock.advance(seconds=30)
        sign_in(pc, app, person)
        page = pc.get("/account")
        response = pc.post(
            "/logout", data={"csrf_token": csrf_of(page.text), "everywhere": "1"}, follow_redirects=False
        )
        assert response.status_code == 200
        assert phone.get("/account", follow_redirects=False).status_code == 303
        assert pc.get("/account", follow_redirects=False).status_code == 303
    events = [e.event for e in db.exec(select(AuditEvent)).all()]
    assert "signout.everywhere" in events


def test_sign_out_only_this_device(app: FastAPI, clock: FrozenClock) -> None:
    person = make_technician(app)
    with TestClient(app, base_url="http://localhost") as phone, TestClient(app, base_url="http://localhost") as pc:
        sign_in(phone, app, person)
        clock.advance(seconds=30)
        sign_in(pc, app, person)
        page = pc.get("/logout")
        pc.post("/logout", data={"csrf_token": csrf_of(page.text)})
        assert pc.get("/account", follow_redirects=False).status_code == 303
        assert phone.get("/account", follow_redirects=False).status_code == 200
