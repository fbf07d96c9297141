"""Throttling of failed attempts and CSRF protection (issue 2, item 6), on every backend."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from idp.models import WebSession
from tests.support.clock import FrozenClock
from tests.support.web import code_now, csrf_of, make_technician, password_step, sign_in


def test_repeated_failures_are_slowed_down_with_retry_after(app: FastAPI, client: TestClient) -> None:
    """OWASP Authentication Cheat Sheet: after a few failures each attempt must wait (429 + Retry-After)."""
    person = make_technician(app)
    statuses = [password_step(client, person.username, "wrong password 1")[0] for _ in range(6)]
    assert statuses[:5] == [401] * 5
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": person.username, "password": person.password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 429  # even the right password waits while throttled
    assert int(response.headers["retry-after"]) >= 1
    assert "秒後にもう一度" in response.text


def test_the_owners_known_device_is_not_locked_out(app: FastAPI, client: TestClient, clock: FrozenClock) -> None:
    """NIST SP 800-63B §5.2.2 (issue 12 hole 4): strangers failing from many addresses close the account's
    shared pool for other strangers, never for the browser the owner signed in with before."""
    person = make_technician(app)
    with TestClient(app, base_url="http://localhost", client=("203.0.113.7", 5000)) as owner:
        sign_in(owner, app, person)  # his browser becomes a known device of the account
        owner.cookies.delete("genba_session")
        clock.advance(seconds=31)  # the next TOTP step
        for i in range(40):
            with TestClient(app, base_url="http://localhost", client=(f"198.51.100.{i}", 5000)) as attacker:
                password_step(attacker, person.username, "guess guess guess")
        with TestClient(app, base_url="http://localhost", client=("203.0.113.8", 5000)) as stranger:
            page = stranger.get("/login")
            refused = stranger.post(
                "/login",
                data={"username": person.username, "password": person.password, "csrf_token": csrf_of(page.text)},
            )
            assert refused.status_code == 429 and refused.headers["retry-after"] == "900"  # the cap, not the end
        sign_in(owner, app, person)
        assert owner.get("/account", follow_redirects=False).status_code == 200


def test_throttle_lifts_after_the_delay(app: FastAPI, client: TestClient, clock: FrozenClock) -> None:
    person = make_technician(app)
    statuses = [password_step(client, person.username, "nope nope nope")[0] for _ in range(8)]
    assert statuses == [401] * 6 + [429] * 2  # attempts while blocked are refused unchecked
    status, _ = password_step(client, person.username, person.password)
    assert status == 429
    clock.advance(minutes=16)  # longer than the largest delay (15 min)
    status, location = password_step(client, person.username, person.password)
    assert (status, location) == (303, "/login/otp")


def test_otp_guessing_is_throttled(app: FastAPI, client: TestClient) -> None:
    person = make_technician(app)
    password_step(client, person.username, person.password)
    page = client.get("/login/otp")
    token = csrf_of(page.text)
    statuses = [client.post("/login/otp", data={"otp": f"{n:06d}", "csrf_token": token}).status_code for n in range(8)]
    assert 429 in statuses
    assert client.post("/login/otp", data={"otp": code_now(app, person), "csrf_token": token}).status_code == 429


def test_missing_or_wrong_csrf_token_is_refused_and_nothing_is_stored(
    app: FastAPI, client: TestClient, db: Session
) -> None:
    """OWASP CSRF: every form post carries a token bound to the browser's cookie."""
    person = make_technician(app)
    client.get("/login")
    for data in ({}, {"csrf_token": "forged"}):
        response = client.post("/login", data={"username": person.username, "password": person.password, **data})
        assert response.status_code == 403
        assert "もう一度お試しください" in response.text
    assert db.exec(select(WebSession)).all() == []


def test_csrf_token_from_another_browser_is_refused(app: FastAPI, client: TestClient) -> None:
    person = make_technician(app)
    with TestClient(app, base_url="http://localhost") as other:
        stolen = csrf_of(other.get("/login").text)
    client.get("/login")
    response = client.post(
        "/login", data={"username": person.username, "password": person.password, "csrf_token": stolen}
    )
    assert response.status_code == 403
