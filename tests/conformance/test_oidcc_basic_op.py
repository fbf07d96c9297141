"""OpenID Foundation Basic OP certification plan, part 1: the code flow, UserInfo, scopes, prompt and max_age.

One test per conformance-suite module, named after it. Each does what the module does against the ASGI app
and validates ID tokens as the suite does (``id_token_claims``: signature by a JWKS key, iss, aud, exp/iat,
nonce, auth_time, at_hash, sub). The rest of the plan is in ``test_oidcc_basic_op_requests.py``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support.clock import FrozenClock
from tests.support.oidc import (
    ISSUER,
    REDIRECT,
    Client,
    authorize_url,
    code_flow,
    exchange,
    id_token_claims,
    make_staff,
    run_flow,
    tokens,
)
from tests.support.web import Person

PROFILE_CLAIMS = ("name", "family_name", "given_name", "gender", "birthdate", "locale", "updated_at")
TOTP_STEP_SECONDS = 40  # a second sign-in needs a new TOTP window (RFC 6238 §5.2 replay protection)


def _userinfo(api: TestClient, access_token: str) -> dict[str, Any]:
    response = api.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def _signed_in_tokens(
    client: TestClient, app: FastAPI, rp: Client, person: Person, clock: FrozenClock, **params: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A full code flow; returns the token response and the validated ID token claims."""
    params.setdefault("nonce", "n-first")
    body = tokens(client, app, rp, person, **params)
    claims = id_token_claims(
        client, body["id_token"], client=rp, now=clock.now, nonce=params["nonce"], access_token=body["access_token"]
    )
    return body, claims


def test_oidcc_server(app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person) -> None:
    """oidcc-server: the basic authorization code flow. OIDC Core §3.1.2.5 (code, state and RFC 9207 iss in the
    response), §3.1.3.3 (token response: token_type Bearer, no-store), §3.1.3.7 (ID token validation) and
    §5.3.2 (UserInfo ``sub`` equals the ID token's)."""
    flow, verifier = code_flow(client, app, rp, technician, state="st-server", nonce="n-server")
    assert flow.signed_in and flow.consent_shown
    assert flow.location is not None and flow.location.startswith(REDIRECT + "?")
    assert flow.params["state"] == "st-server" and flow.params["iss"] == ISSUER
    response = exchange(client, rp, flow.code, verifier)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store" and response.headers["pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer" and isinstance(body["expires_in"], int) and body["expires_in"] > 0
    claims = id_token_claims(
        client, body["id_token"], client=rp, now=clock.now, nonce="n-server", access_token=body["access_token"]
    )
    assert _userinfo(client, body["access_token"])["sub"] == claims["sub"]


def test_oidcc_response_type_missing(app: FastAPI, client: TestClient, rp: Client) -> None:
    """oidcc-response-type-missing: without response_type the request is refused with invalid_request (or
    unsupported_response_type) sent to the registered redirect URI with state and iss, or shown on an error page.
    RFC 6749 §3.1.1, §4.1.2.1; OIDC Core §3.1.2.6; RFC 9207 §2."""
    flow = run_flow(client, app, authorize_url(rp, response_type=None, state="st-missing"))
    assert not flow.signed_in
    assert flow.params["error"] in ("invalid_request", "unsupported_response_type")
    assert flow.params["state"] == "st-missing" and flow.params["iss"] == ISSUER
    assert "code" not in flow.params


def test_oidcc_userinfo_get(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """oidcc-userinfo-get: UserInfo by GET with the access token in the Authorization header.
    OIDC Core §5.3.1; RFC 6750 §2.1."""
    body, claims = _signed_in_tokens(client, app, rp, technician, clock, scope="openid profile")
    info = _userinfo(client, body["access_token"])
    assert info["sub"] == claims["sub"] and info["name"] == "鈴木 一郎"


def test_oidcc_userinfo_post_header(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """oidcc-userinfo-post-header: UserInfo by POST with the token in the Authorization header.
    OIDC Core §5.3.1 ("MUST support the use of the HTTP GET and HTTP POST methods"); RFC 6750 §2.1."""
    body, claims = _signed_in_tokens(client, app, rp, technician, clock, scope="openid profile")
    response = client.post("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert response.status_code == 200, response.text
    assert response.json()["sub"] == claims["sub"] and response.json()["name"] == "鈴木 一郎"


def test_oidcc_userinfo_post_body(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """oidcc-userinfo-post-body: UserInfo by POST with the token as the form-encoded ``access_token`` body
    parameter. OIDC Core §5.3.1; RFC 6750 §2.2."""
    body, claims = _signed_in_tokens(client, app, rp, technician, clock, scope="openid profile")
    response = client.post("/userinfo", data={"access_token": body["access_token"]})
    assert response.status_code == 200, response.text
    assert response.json()["sub"] == claims["sub"] and response.json()["name"] == "鈴木 一郎"


def test_oidcc_ensure_request_without_nonce_succeeds_for_code_flow(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """oidcc-ensure-request-without-nonce-succeeds-for-code-flow: nonce is OPTIONAL in the code flow; the
    ID token then carries no nonce. OIDC Core §3.1.2.1, §2 ("nonce ... if present in the Authentication Request")."""
    flow, verifier = code_flow(client, app, rp, technician, nonce=None)
    assert "code" in flow.params, flow.params
    body = exchange(client, rp, flow.code, verifier).json()
    claims = id_token_claims(client, body["id_token"], client=rp, now=clock.now, access_token=body["access_token"])
    assert "nonce" not in claims


def test_oidcc_scope_profile(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """oidcc-scope-profile: scope ``profile`` releases the profile claims at UserInfo, and nothing of the scopes
    not asked for. OIDC Core §5.4."""
    body, _ = _signed_in_tokens(client, app, rp, technician, clock, scope="openid profile")
    info = _userinfo(client, body["access_token"])
    assert all(name in info for name in PROFILE_CLAIMS), info
    assert info["family_name"] == "鈴木" and info["given_name"] == "一郎" and info["birthdate"] == "1985-04-12"
    assert not {"email", "phone_number", "address"} & set(info)


def test_oidcc_scope_email(app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client) -> None:
    """oidcc-scope-email: scope ``email`` releases email and email_verified (an employer staff account: technicians
    have no e-mail). OIDC Core §5.4, §5.1."""
    staff = make_staff(app, email="hanako.tanaka@example.co.jp")
    body, _ = _signed_in_tokens(client, app, rp, staff, clock, scope="openid email")
    info = _userinfo(client, body["access_token"])
    assert info["email"] == "hanako.tanaka@example.co.jp" and isinstance(info["email_verified"], bool)
    assert not {"name", "phone_number", "address"} & set(info)


def test_oidcc_scope_address(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """oidcc-scope-address: scope ``address`` releases the address claim as a JSON object. OIDC Core §5.4, §5.1.1."""
    body, _ = _signed_in_tokens(client, app, rp, technician, clock, scope="openid address")
    info = _userinfo(client, body["access_token"])
    assert isinstance(info["address"], dict) and info["address"]["formatted"] == "東京都江東区東陽4-5-6"
    assert not {"name", "email", "phone_number"} & set(info)


def test_oidcc_scope_phone(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """oidcc-scope-phone: scope ``phone`` releases phone_number and phone_number_verified. OIDC Core §5.4, §5.1."""
    body, _ = _signed_in_tokens(client, app, rp, technician, clock, scope="openid phone")
    info = _userinfo(client, body["access_token"])
    assert info["phone_number"] == "090-1234-5678" and isinstance(info["phone_number_verified"], bool)
    assert not {"name", "email", "address"} & set(info)


def test_oidcc_scope_all(app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client) -> None:
    """oidcc-scope-all: all of profile, email, address and phone at once; the granted scope is reported in the
    token response. OIDC Core §5.4; RFC 6749 §5.1 (scope)."""
    staff = make_staff(app)
    body, _ = _signed_in_tokens(client, app, rp, staff, clock, scope="openid profile email address phone")
    assert set(body["scope"].split()) == {"openid", "profile", "email", "address", "phone"}
    info = _userinfo(client, body["access_token"])
    for name in ("name", "locale", "updated_at", "email", "email_verified", "address", "phone_number"):
        assert name in info, (name, info)


def test_oidcc_prompt_login(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """oidcc-prompt-login: a signed-in user asked again with prompt=login must sign in again, and the second
    ID token's auth_time is later, with the same sub. OIDC Core §3.1.2.1 (prompt=login), §2 (auth_time)."""
    _, first = _signed_in_tokens(client, app, rp, technician, clock)
    clock.advance(seconds=TOTP_STEP_SECONDS)
    flow, verifier = code_flow(client, app, rp, technician, prompt="login", nonce="n-second")
    assert flow.signed_in, "prompt=login must ask the user to sign in again"
    body = exchange(client, rp, flow.code, verifier).json()
    second = id_token_claims(
        client, body["id_token"], client=rp, now=clock.now, nonce="n-second", access_token=body["access_token"]
    )
    assert second["auth_time"] > first["auth_time"] and second["sub"] == first["sub"]


def test_oidcc_prompt_none_not_logged_in(app: FastAPI, client: TestClient, rp: Client) -> None:
    """oidcc-prompt-none-not-logged-in: prompt=none without a session returns login_required (with state and iss)
    to the redirect URI, showing no page. OIDC Core §3.1.2.1, §3.1.2.6; RFC 9207 §2."""
    flow = run_flow(client, app, authorize_url(rp, prompt="none", state="st-none"))
    assert not flow.signed_in and not flow.consent_shown
    assert flow.params["error"] in ("login_required", "interaction_required")
    assert flow.params["state"] == "st-none" and flow.params["iss"] == ISSUER and "code" not in flow.params


def test_oidcc_prompt_none_logged_in(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """oidcc-prompt-none-logged-in: with a session (and remembered consent) prompt=none succeeds at once, for
    the same sub and auth_time. OIDC Core §3.1.2.1 (prompt=none)."""
    _, first = _signed_in_tokens(client, app, rp, technician, clock)
    clock.advance(seconds=5)
    flow, verifier = code_flow(client, app, rp, technician, prompt="none", nonce="n-none")
    assert not flow.signed_in and not flow.consent_shown and "code" in flow.params, flow.params
    body = exchange(client, rp, flow.code, verifier).json()
    second = id_token_claims(
        client, body["id_token"], client=rp, now=clock.now, nonce="n-none", access_token=body["access_token"]
    )
    assert second["sub"] == first["sub"] and second["auth_time"] == first["auth_time"]


def test_oidcc_max_age_1(app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person) -> None:
    """oidcc-max-age-1: a second request with max_age=1 after more than a second must re-authenticate the user;
    the ID token has a later auth_time. OIDC Core §3.1.2.1 (max_age), §2 (auth_time REQUIRED with max_age)."""
    _, first = _signed_in_tokens(client, app, rp, technician, clock)
    clock.advance(seconds=TOTP_STEP_SECONDS)
    flow, verifier = code_flow(client, app, rp, technician, max_age="1", nonce="n-max1")
    assert flow.signed_in, "max_age=1 must ask the user to sign in again"
    body = exchange(client, rp, flow.code, verifier).json()
    second = id_token_claims(
        client, body["id_token"], client=rp, now=clock.now, nonce="n-max1", access_token=body["access_token"]
    )
    assert second["auth_time"] > first["auth_time"]
    assert second["auth_time"] >= int(clock.now.timestamp()) - 1


def test_oidcc_max_age_10000(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """oidcc-max-age-10000: max_age=10000 does not force a new sign-in; auth_time is present and unchanged.
    OIDC Core §3.1.2.1 (max_age), §2 (auth_time)."""
    _, first = _signed_in_tokens(client, app, rp, technician, clock)
    clock.advance(seconds=TOTP_STEP_SECONDS)
    flow, verifier = code_flow(client, app, rp, technician, max_age="10000", nonce="n-max10000")
    assert not flow.signed_in and "code" in flow.params, flow.params
    body = exchange(client, rp, flow.code, verifier).json()
    second = id_token_claims(
        client, body["id_token"], client=rp, now=clock.now, nonce="n-max10000", access_token=body["access_token"]
    )
    assert second["auth_time"] == first["auth_time"] and second["sub"] == first["sub"]
