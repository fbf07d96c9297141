"""RP-initiated logout (OIDC RP-Initiated Logout 1.0) and back-channel logout (OIDC Back-Channel Logout 1.0)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from common.outbound import OutboundPolicy
from idp.models import LogoutDelivery
from idp.oauth.logout import HttpPoster, deliver_due
from tests.support.clock import FrozenClock
from tests.support.oidc import authorize_url, exchange, follow_to_client, pkce, register_client, verify_id_token
from tests.support.receiver import receiver
from tests.support.web import build_app, csrf_of, make_technician, sign_in

POST_LOGOUT = "https://rp.example.jp/logged-out"
#: the test receivers listen on 127.0.0.1: only the explicit development setting lets the provider call them
LOOPBACK_ALLOWED = OutboundPolicy(allow_private=True)


@pytest.fixture
def app(tmp_path: Path, db_url: str, engine: Engine, clock: FrozenClock, db: Session) -> FastAPI:
    return build_app(tmp_path, db_url, engine, clock, outbound_allow_private=True)


def _signed_in_rp(app: FastAPI, browser: TestClient, **client_kwargs: object) -> tuple[object, dict[str, str]]:
    person = make_technician(app)
    client = register_client(app, post_logout_redirect_uris=[POST_LOGOUT], **client_kwargs)
    sign_in(browser, app, person)
    verifier, challenge = pkce()
    res = follow_to_client(browser, authorize_url(client, code_challenge=challenge, code_challenge_method="S256"))
    tokens = exchange(browser, client, res["code"], verifier).json()
    return client, tokens


def test_rp_initiated_logout_confirms_then_redirects_with_state(app: FastAPI, client: TestClient) -> None:
    """RP-Initiated Logout §2-§3: id_token_hint + registered post_logout_redirect_uri + state, after confirmation."""
    _rp, tokens = _signed_in_rp(app, client)
    page = client.get(
        "/session/end",
        params={"id_token_hint": tokens["id_token"], "state": "bye-1", "post_logout_redirect_uri": POST_LOGOUT},
    )
    assert page.status_code == 200 and "サインアウトの確認" in page.text and "勤怠管理システム" in page.text
    form = {
        "csrf_token": csrf_of(page.text),
        "logout": "yes",
        "id_token_hint": tokens["id_token"],
        "state": "bye-1",
        "post_logout_redirect_uri": POST_LOGOUT,
    }
    response = client.post("/session/end/confirm", data=form, follow_redirects=False)
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == POST_LOGOUT
    assert parse_qs(location.query)["state"] == ["bye-1"]
    assert client.get("/account", follow_redirects=False).status_code == 303  # signed out


def test_unregistered_post_logout_redirect_uri_is_never_followed(app: FastAPI, client: TestClient) -> None:
    """RP-Initiated Logout §3: the OP must not redirect to an unregistered URI (no open redirect)."""
    _, tokens = _signed_in_rp(app, client)
    page = client.get(
        "/session/end",
        params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "https://evil.example/"},
    )
    assert page.status_code == 400 and "not registered" in page.text


def test_forged_id_token_hint_is_refused(app: FastAPI, client: TestClient) -> None:
    _, tokens = _signed_in_rp(app, client)
    header, payload, _sig = tokens["id_token"].split(".")
    page = client.get("/session/end", params={"id_token_hint": f"{header}.{payload}.AAAA"})
    assert page.status_code == 400


def test_declining_keeps_the_session(app: FastAPI, client: TestClient) -> None:
    _, tokens = _signed_in_rp(app, client)
    page = client.get("/session/end", params={"id_token_hint": tokens["id_token"]})
    client.post("/session/end/confirm", data={"csrf_token": csrf_of(page.text), "logout": "no"})
    assert client.get("/account", follow_redirects=False).status_code == 200


def test_back_channel_logout_token_is_signed_and_delivered(app: FastAPI, client: TestClient, db: Session) -> None:
    """Back-Channel Logout §2.4-§2.6: logout+jwt with iss, aud, iat, exp, jti, events, sub and sid; no nonce."""
    with receiver() as rp_server:
        rp, tokens = _signed_in_rp(
            app, client, backchannel_logout_uri=rp_server.url, backchannel_logout_session_required=True
        )
        id_claims = verify_id_token(client, tokens["id_token"])
        page = client.get("/account")
        client.post("/logout", data={"csrf_token": csrf_of(page.text)})  # the background task delivers
        assert len(rp_server.received) == 1
        token = rp_server.received[0]["logout_token"]
    claims = verify_id_token(client, token)
    assert claims["iss"] == "http://localhost" and claims["aud"] == rp.client_id  # type: ignore[attr-defined]
    assert claims["sub"] == id_claims["sub"] and claims["sid"] == id_claims["sid"]
    assert "http://schemas.openid.net/event/backchannel-logout" in claims["events"] and "nonce" not in claims
    header = token.split(".")[0]
    import base64
    import json

    assert json.loads(base64.urlsafe_b64decode(header + "=="))["typ"] == "logout+jwt"
    row = db.exec(select(LogoutDelivery)).one()
    assert row.delivered_at is not None and row.attempts == 1
    # The session's online grant is revoked: its refresh token no longer works.
    from tests.support.oidc import token_request

    refreshed = token_request(client, rp, grant_type="refresh_token", refresh_token=tokens["refresh_token"])  # type: ignore[arg-type]
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


def test_failed_delivery_is_retried_with_backoff_and_recorded(
    app: FastAPI, client: TestClient, db: Session, clock: FrozenClock
) -> None:
    """Back-Channel Logout §2.8: the OP should retry; every attempt is recorded."""
    with receiver() as rp_server:
        rp_server.fail_next = 2
        _signed_in_rp(app, client, backchannel_logout_uri=rp_server.url)
        page = client.get("/account")
        client.post("/logout", data={"csrf_token": csrf_of(page.text)})  # attempt 1 fails
        row = db.exec(select(LogoutDelivery)).one()
        assert row.attempts == 1 and row.delivered_at is None and row.last_error == "HTTP 500"
        first_retry = row.next_attempt_at
        services = app.state.oauth.services
        assert deliver_due(services, db, HttpPoster(LOOPBACK_ALLOWED), now=clock.now)["delivered"] == 0  # not due yet
        clock.now = first_retry
        assert deliver_due(services, db, HttpPoster(LOOPBACK_ALLOWED), now=clock.now) == {"delivered": 0, "failed": 1}
        db.commit()
        db.refresh(row)
        assert row.next_attempt_at - clock.now > first_retry - row.created_at  # the wait doubled
        clock.now = row.next_attempt_at
        assert deliver_due(services, db, HttpPoster(LOOPBACK_ALLOWED), now=clock.now) == {"delivered": 1, "failed": 0}
        db.commit()
        assert len(rp_server.received) == 1
    db.refresh(row)
    assert row.attempts == 3 and row.delivered_at is not None
