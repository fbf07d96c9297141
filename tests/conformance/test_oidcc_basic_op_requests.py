"""OpenID Foundation Basic OP certification plan, part 2: request parameters, code reuse, redirect URIs, client
authentication, request objects, claims, refresh tokens and PKCE. One test per suite module, named after it."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support.clock import FrozenClock
from tests.support.oidc import (
    ISSUER,
    REDIRECT,
    Client,
    authorize_url,
    client_key,
    code_flow,
    exchange,
    id_token_claims,
    pkce,
    register_client,
    run_flow,
    signed_jwt,
    token_request,
    tokens,
    unsigned_jwt,
)
from tests.support.web import Person

ACR_SUPPORTED = ("urn:genba:acr:aal2", "urn:genba:acr:aal3")


def _userinfo(api: TestClient, access_token: str) -> Any:
    return api.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"})


def _claims(api: TestClient, body: dict[str, Any], rp: Client, clock: FrozenClock, nonce: str | None) -> dict[str, Any]:
    return id_token_claims(
        api, body["id_token"], client=rp, now=clock.now, nonce=nonce, access_token=body["access_token"]
    )


def test_oidcc_ensure_request_with_unknown_parameter_succeeds(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """oidcc-ensure-request-with-unknown-parameter-succeeds: an unrecognised authorization request parameter is
    ignored. RFC 6749 §3.1 ("The authorization server MUST ignore unrecognized request parameters")."""
    body = tokens(client, app, rp, technician, nonce="n-extra", extra_param="foobar", another="1")
    _claims(client, body, rp, clock, "n-extra")


def test_oidcc_id_token_hint(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """oidcc-id-token-hint: prompt=none with the first ID token as id_token_hint returns at once, with the same sub
    and auth_time. OIDC Core §3.1.2.1 (id_token_hint, prompt=none)."""
    first_body = tokens(client, app, rp, technician, nonce="n-1")
    first = _claims(client, first_body, rp, clock, "n-1")
    clock.advance(seconds=5)
    flow, verifier = code_flow(
        client, app, rp, technician, prompt="none", id_token_hint=first_body["id_token"], nonce="n-2"
    )
    assert not flow.signed_in and not flow.consent_shown and "code" in flow.params, flow.params
    second = _claims(client, exchange(client, rp, flow.code, verifier).json(), rp, clock, "n-2")
    assert second["sub"] == first["sub"] and second["auth_time"] == first["auth_time"]


def test_oidcc_login_hint(app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person) -> None:
    """oidcc-login-hint: login_hint is accepted and pre-fills the sign-in page's identifier.
    OIDC Core §3.1.2.1 (login_hint)."""
    response = client.get(authorize_url(rp, login_hint=technician.username), follow_redirects=True)
    assert response.status_code == 200 and f'name="username" value="{technician.username}"' in response.text
    body = tokens(client, app, rp, technician, login_hint=technician.username, nonce="n-hint")
    _claims(client, body, rp, clock, "n-hint")


def test_oidcc_ui_locales(app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person) -> None:
    """oidcc-ui-locales: ui_locales is accepted; the first supported language asked for (English here, after an
    unsupported one) is used for the pages. OIDC Core §3.1.2.1 (ui_locales)."""
    response = client.get(authorize_url(rp, ui_locales="fr-CA en"), follow_redirects=True)
    assert response.status_code == 200 and '<html lang="en">' in response.text and "Sign in" in response.text
    body = tokens(client, app, rp, technician, ui_locales="fr-CA en", nonce="n-ui")
    _claims(client, body, rp, clock, "n-ui")


def test_oidcc_claims_locales(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """oidcc-claims-locales: claims_locales is accepted and the claims are still returned.
    OIDC Core §5.2 (claims_locales), §3.1.2.1."""
    body = tokens(client, app, rp, technician, scope="openid profile", claims_locales="se ja-Kana-JP", nonce="n-cl")
    claims = _claims(client, body, rp, clock, "n-cl")
    info = _userinfo(client, body["access_token"]).json()
    assert info["sub"] == claims["sub"] and info["name"] == "鈴木 一郎"


def test_oidcc_ensure_request_with_acr_values_succeeds(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """oidcc-ensure-request-with-acr-values-succeeds: acr_values (voluntary) is accepted; the ID token's acr is
    one the provider advertises. OIDC Core §3.1.2.1 (acr_values), §2 (acr)."""
    body = tokens(client, app, rp, technician, acr_values="1 2", nonce="n-acr")
    claims = _claims(client, body, rp, clock, "n-acr")
    assert claims["acr"] in ACR_SUPPORTED
    assert claims["acr"] in client.get("/.well-known/openid-configuration").json()["acr_values_supported"]


def _code_reuse(client: TestClient, app: FastAPI, rp: Client, person: Person, clock: FrozenClock, wait: int) -> None:
    flow, verifier = code_flow(client, app, rp, person)
    first = exchange(client, rp, flow.code, verifier)
    assert first.status_code == 200, first.text
    assert _userinfo(client, first.json()["access_token"]).status_code == 200
    clock.advance(seconds=wait)
    again = exchange(client, rp, flow.code, verifier)
    assert again.status_code == 400 and again.headers["content-type"].startswith("application/json")
    assert again.json()["error"] == "invalid_grant"
    # RFC 6749 §4.1.2: "SHOULD revoke (when possible) all tokens previously issued based on that code".
    assert _userinfo(client, first.json()["access_token"]).status_code == 401
    refreshed = token_request(client, rp, grant_type="refresh_token", refresh_token=first.json()["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


def test_oidcc_codereuse(app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person) -> None:
    """oidcc-codereuse: a code used a second time gets 400 invalid_grant, and the tokens of the first use are
    revoked. RFC 6749 §4.1.2 (single use, SHOULD revoke), §5.2 (invalid_grant); OIDC Core §3.1.3.2."""
    _code_reuse(client, app, rp, technician, clock, wait=0)


def test_oidcc_codereuse_30seconds(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """oidcc-codereuse-30seconds: the same as oidcc-codereuse, with the second use 30 seconds after the first
    (still within the code's lifetime, so only single use refuses it). RFC 6749 §4.1.2, §5.2."""
    _code_reuse(client, app, rp, technician, clock, wait=30)


def test_oidcc_ensure_registered_redirect_uri(app: FastAPI, client: TestClient, rp: Client) -> None:
    """oidcc-ensure-registered-redirect-uri: an unregistered redirect_uri is refused on an error page and the
    browser is never redirected to it. RFC 6749 §3.1.2.4, §4.1.2.1; OIDC Core §3.1.2.1 (exact match)."""
    response = client.get(authorize_url(rp, redirect_uri=REDIRECT + "_invalid"), follow_redirects=False)
    assert response.status_code == 400 and "location" not in response.headers
    assert 'id="oauth-error">invalid_request<' in response.text


def test_oidcc_ensure_post_request_succeeds(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """oidcc-ensure-post-request-succeeds: the authorization request sent by POST (form-encoded) works.
    OIDC Core §3.1.2.1 ("MUST support the use of the HTTP GET and POST methods")."""
    verifier, challenge = pkce()
    form = {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "scope": "openid",
        "state": "st-post",
        "nonce": "n-post",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    flow = run_flow(client, app, "", person=technician, post=form)
    assert flow.params["state"] == "st-post" and flow.params["iss"] == ISSUER
    _claims(client, exchange(client, rp, flow.code, verifier).json(), rp, clock, "n-post")


def test_oidcc_server_client_secret_post(
    app: FastAPI, client: TestClient, clock: FrozenClock, technician: Person
) -> None:
    """oidcc-server-client-secret-post: a client registered for client_secret_post authenticates with the
    secret in the body; the registered method is enforced (Basic is refused with invalid_client).
    OIDC Core §9; RFC 6749 §2.3.1; OIDC Registration §2 (token_endpoint_auth_method)."""
    rp = register_client(app, token_endpoint_auth_method="client_secret_post")
    assert rp.auth_method == "client_secret_post" and rp.client_secret
    flow, verifier = code_flow(client, app, rp, technician, nonce="n-csp")
    basic = client.post(
        "/token",
        data={"grant_type": "authorization_code", "code": flow.code, "redirect_uri": rp.redirect_uri},
        auth=(rp.client_id, rp.client_secret),
    )
    assert basic.status_code == 401 and basic.json()["error"] == "invalid_client"
    response = exchange(client, rp, flow.code, verifier)
    assert response.status_code == 200, response.text
    _claims(client, response.json(), rp, clock, "n-csp")


def test_oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported: an ``alg: none`` request
    object is either processed correctly (its state and nonce are used) or refused with an error, never ignored.
    Discovery does not list ``none``; only a client registered with request_object_signing_alg=none may send
    one. OIDC Core §6.1, §6.3.1, §3.1.2.6; OIDC Registration §2 (request_object_signing_alg)."""
    metadata = client.get("/.well-known/openid-configuration").json()
    assert "none" not in metadata["request_object_signing_alg_values_supported"]
    inner = {"response_type": "code", "client_id": rp.client_id, "redirect_uri": rp.redirect_uri, "scope": "openid"}
    refused = run_flow(
        client,
        app,
        authorize_url(rp, state=None, request=unsigned_jwt({**inner, "state": "st-ro", "nonce": "n-ro"})),
        person=technician,
    )
    assert (
        refused.params["error"] in ("invalid_request_object", "request_not_supported") and "code" not in refused.params
    )
    assert refused.params["iss"] == ISSUER

    unsigned_rp = register_client(app, request_object_signing_alg="none")
    verifier, challenge = pkce()
    request = unsigned_jwt(
        {
            **inner,
            "client_id": unsigned_rp.client_id,
            "state": "st-ro",
            "nonce": "n-ro",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    flow = run_flow(
        client,
        app,
        authorize_url(unsigned_rp, state=None, request=request),
        person=technician,
        remember=True,
    )
    assert flow.params["state"] == "st-ro", flow.params
    _claims(client, exchange(client, unsigned_rp, flow.code, verifier).json(), unsigned_rp, clock, "n-ro")


def test_oidcc_claims_essential(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """oidcc-claims-essential: the claims parameter asks for ``name`` as essential at UserInfo with scope openid
    only; UserInfo returns it. OIDC Core §5.5 (claims request parameter), §5.5.1 (essential)."""
    claims_param = json.dumps({"userinfo": {"name": {"essential": True}}})
    body = tokens(client, app, rp, technician, scope="openid", claims=claims_param, nonce="n-ess")
    claims = _claims(client, body, rp, clock, "n-ess")
    info = _userinfo(client, body["access_token"]).json()
    assert info["sub"] == claims["sub"] and info["name"] == "鈴木 一郎"
    assert "email" not in info and "birthdate" not in info


def test_oidcc_ensure_request_object_with_redirect_uri(
    app: FastAPI, client: TestClient, clock: FrozenClock, technician: Person
) -> None:
    """oidcc-ensure-request-object-with-redirect-uri: an ES256 request object signed with a key of the client's
    registered jwks carries the registered redirect_uri while the query carries another (invalid) one; the value
    in the request object is used. OIDC Core §6.1 ("the values in the Request Object take precedence"), §6.3.3;
    RFC 9101 §6.3."""
    key, jwks = client_key()
    rp = register_client(app, jwks=jwks)
    verifier, challenge = pkce()
    now = int(clock.now.timestamp())
    request = signed_jwt(
        key,
        {
            "iss": rp.client_id,
            "aud": ISSUER,
            "nbf": now,
            "exp": now + 300,
            "response_type": "code",
            "client_id": rp.client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid",
            "state": "st-jar",
            "nonce": "n-jar",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    url = authorize_url(rp, redirect_uri=REDIRECT + "_invalid", state=None, request=request)
    flow = run_flow(client, app, url, person=technician)
    assert flow.location is not None and flow.location.startswith(REDIRECT + "?"), flow
    assert flow.params["state"] == "st-jar" and flow.params["iss"] == ISSUER
    _claims(client, exchange(client, rp, flow.code, verifier).json(), rp, clock, "n-jar")


def test_oidcc_refresh_token(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """oidcc-refresh-token: a refresh gives new tokens and an ID token with the same iss, sub, aud and auth_time,
    a new iat and no nonce; the refresh token is bound to its client (another client gets invalid_grant).
    OIDC Core §12.1, §12.2; RFC 6749 §6, §10.4 (binding)."""
    other = register_client(app, client_name="別のシステム")
    body = tokens(client, app, rp, technician, scope="openid offline_access", nonce="n-rt")
    first = _claims(client, body, rp, clock, "n-rt")
    assert body["refresh_token"] and all(c.isprintable() and c != " " for c in body["refresh_token"])
    clock.advance(seconds=120)
    stolen = token_request(client, other, grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    refreshed = token_request(client, rp, grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    new = refreshed.json()
    second = _claims(client, new, rp, clock, None)
    assert (second["iss"], second["sub"], second["aud"], second["auth_time"]) == (
        first["iss"],
        first["sub"],
        first["aud"],
        first["auth_time"],
    )
    assert second["iat"] == int(clock.now.timestamp()) > first["iat"]
    assert _userinfo(client, new["access_token"]).json()["sub"] == first["sub"]


def test_oidcc_ensure_request_with_valid_pkce_succeeds(
    app: FastAPI, client: TestClient, clock: FrozenClock, technician: Person
) -> None:
    """oidcc-ensure-request-with-valid-pkce-succeeds: code_challenge (S256) at the authorization endpoint and the
    matching code_verifier at the token endpoint succeed, for a confidential and a public client.
    RFC 7636 §4.3, §4.5, §4.6."""
    for rp in (register_client(app), register_client(app, client_type="public", client_name="現場アプリ")):
        flow, verifier = code_flow(client, app, rp, technician, nonce="n-pkce")
        response = exchange(client, rp, flow.code, verifier)
        assert response.status_code == 200, response.text
        _claims(client, response.json(), rp, clock, "n-pkce")


# -- beyond the plan: what the request-object modules rely on ---------------------------------------------------------


def test_expired_or_not_yet_valid_request_object_is_refused(
    app: FastAPI, client: TestClient, clock: FrozenClock, technician: Person
) -> None:
    """A signed request object is a JWT: one whose exp has passed, or whose nbf is in the future, "MUST NOT be
    accepted for processing" (RFC 7519 §4.1.4, §4.1.5; RFC 9101 §6.2 and §10.8 replay), so it gets
    invalid_request_object and no code."""
    key, jwks = client_key()
    rp = register_client(app, jwks=jwks)
    code_flow(client, app, rp, technician)  # signed in and consented: a refusal is about the request object
    now = int(clock.now.timestamp())
    base = {"iss": rp.client_id, "aud": ISSUER, "response_type": "code", "client_id": rp.client_id}
    base |= {"redirect_uri": REDIRECT, "scope": "openid", "code_challenge": pkce()[1], "code_challenge_method": "S256"}
    accepted = {}
    for name, times in {
        "expired": {"nbf": now - 3700, "exp": now - 3600},
        "not yet valid": {"nbf": now + 3600, "exp": now + 3900},
    }.items():
        flow = run_flow(client, app, authorize_url(rp, state=None, request=signed_jwt(key, {**base, **times})))
        if flow.params.get("error") != "invalid_request_object":
            accepted[name] = flow.params
    assert not accepted
