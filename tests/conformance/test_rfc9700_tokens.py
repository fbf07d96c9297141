"""RFC 9700 attacks on tokens: leakage through referrers and logs, code lifetime, forged and confused JWTs and
parameter abuse. Each test names the section it checks. Refresh token rotation (§4.14.2) and DPoP (RFC 9449,
§4.10.1) are tested with the provider's OAuth code: tests/integration/idp/oauth/test_refresh_rotation.py and
test_dpop.py."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import logging
import logging.handlers
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from tests.support.clock import FrozenClock
from tests.support.oidc import (
    ISSUER,
    REDIRECT,
    Client,
    authorize_url,
    b64url,
    code_flow,
    exchange,
    run_flow,
    token_request,
    tokens,
    unsigned_jwt,
)
from tests.support.web import Person

CLIENT_SIDE_LOGGERS = ("httpx", "httpcore")  # the test client's own request lines, not the provider's


def _userinfo(api: TestClient, token: str, scheme: str = "Bearer", **headers: str) -> Any:
    return api.get("/userinfo", headers={"Authorization": f"{scheme} {token}", **headers})


def _refresh(api: TestClient, rp: Client, token: str) -> Any:
    return token_request(api, rp, grant_type="refresh_token", refresh_token=token)


def test_pages_send_no_referrer(app: FastAPI, client: TestClient, rp: Client, technician: Person) -> None:
    """§4.2.4 (leakage via Referer): every page and redirect of the provider, where codes, states and interaction
    ids travel, is served with Referrer-Policy: no-referrer."""
    seen = []
    for url in (
        "/login",
        authorize_url(rp),
        authorize_url(rp, redirect_uri="https://evil.example/cb"),  # error page
        "/token",
        "/userinfo",
        "/.well-known/openid-configuration",
    ):
        seen.append(client.get(url, follow_redirects=False))
    code_flow(client, app, rp, technician)
    seen.append(client.get(authorize_url(rp, prompt="consent"), follow_redirects=False))  # consent page
    seen.append(client.get(authorize_url(rp), follow_redirects=False))  # redirect carrying the code
    seen.append(client.get(authorize_url(rp, response_mode="form_post"), follow_redirects=False))
    assert 'id="form-post"' in seen[-1].text and seen[-2].status_code == 302 and 'name="decision"' in seen[-3].text
    for response in seen:
        assert response.headers.get("referrer-policy") == "no-referrer", (response.request.url, response.headers)


def _provider_only(record: logging.LogRecord) -> bool:
    return not record.name.startswith(CLIENT_SIDE_LOGGERS)


def _log_flow(
    app: FastAPI, client: TestClient, rp: Client, technician: Person, caplog: pytest.LogCaptureFixture
) -> tuple[list[str], str, str]:
    """Run a whole flow with every logger at DEBUG. Return the secrets that crossed the wire, what a plain handler
    wrote (formatted when each record was emitted) and what a buffering MemoryHandler wrote when flushed."""
    caplog.set_level(logging.DEBUG)
    plain, later = io.StringIO(), io.StringIO()
    handlers: list[logging.Handler] = [
        logging.StreamHandler(plain),
        logging.handlers.MemoryHandler(capacity=100_000, target=logging.StreamHandler(later)),
    ]
    for handler in handlers:
        handler.addFilter(_provider_only)
        logging.getLogger().addHandler(handler)
    try:
        flow, verifier = code_flow(client, app, rp, technician, scope="openid profile offline_access")
        body = exchange(client, rp, flow.code, verifier).json()
        refreshed = _refresh(client, rp, body["refresh_token"]).json()
        assert _userinfo(client, refreshed["access_token"]).status_code == 200
        auth = (rp.client_id, rp.client_secret or "")
        client.post("/introspect", data={"token": refreshed["access_token"]}, auth=auth)
        client.post("/revoke", data={"token": refreshed["refresh_token"]}, auth=auth)
    finally:
        for handler in handlers:
            logging.getLogger().removeHandler(handler)
            handler.flush()
    assert rp.client_secret
    secrets = [flow.code, verifier, rp.client_secret, technician.password]
    secrets += [tokens[k] for tokens in (body, refreshed) for k in ("access_token", "refresh_token", "id_token")]
    return secrets, plain.getvalue(), later.getvalue()


def test_no_token_or_code_in_log_output(
    app: FastAPI, client: TestClient, rp: Client, technician: Person, caplog: pytest.LogCaptureFixture
) -> None:
    """§4.3 (leakage of tokens, e.g. "in log files"): at DEBUG, a whole flow (authorize, sign-in, token, refresh,
    userinfo, introspection, revocation) writes no code, verifier, secret, password or token to the log output."""
    secrets, text, _ = _log_flow(app, client, rp, technician, caplog)
    assert "Issue token" in text  # the DEBUG lines are there
    assert not [s[:12] for s in secrets if s in text]


def test_no_token_in_log_records_formatted_later(
    app: FastAPI, client: TestClient, rp: Client, technician: Person, caplog: pytest.LogCaptureFixture
) -> None:
    """§4.3 (token leakage via logs): records buffered and formatted later (logging.handlers.MemoryHandler, as
    buffered or asynchronous log shipping does) contain no token either."""
    secrets, _, text = _log_flow(app, client, rp, technician, caplog)
    assert "Issue token" in text
    assert not [s[:12] for s in secrets if s in text]


def test_code_older_than_60_seconds_is_refused(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """§4.5 / RFC 6749 §4.1.2 (codes are short-lived, "maximum ... of 10 minutes", here 60 s) and single use: a code
    redeemed 59 s after issue works once; one redeemed after 61 s gets invalid_grant."""
    flow, verifier = code_flow(client, app, rp, technician)
    clock.advance(seconds=59)
    assert exchange(client, rp, flow.code, verifier).status_code == 200
    assert exchange(client, rp, flow.code, verifier).json()["error"] == "invalid_grant"
    flow, verifier = code_flow(client, app, rp, technician)
    clock.advance(seconds=61)
    late = exchange(client, rp, flow.code, verifier)
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


def _forge_hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def test_forged_alg_none_and_hs256_access_tokens_are_refused(
    app: FastAPI, client: TestClient, rp: Client, technician: Person
) -> None:
    """RFC 8725 §2.1, §3.1 (alg none, "substitution" of an HMAC keyed with the public key), RFC 9700 §4.9
    (resource servers verify tokens): copies of a real access token re-signed with alg=none or with HS256 keyed
    with our public key (as JWK JSON and as PEM) are refused at UserInfo."""
    body = tokens(client, app, rp, technician)
    assert _userinfo(client, body["access_token"]).status_code == 200
    header_b64, payload_b64, _ = body["access_token"].split(".")
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=="))
    claims = json.loads(base64.urlsafe_b64decode(payload_b64 + "=="))
    public = next(k for k in client.get("/jwks").json()["keys"] if k["kid"] == header["kid"])
    public_json = json.dumps(public).encode()
    pem = ECKey.import_key(public).as_pem(private=False)
    forged = [
        unsigned_jwt(claims, {**header, "alg": "none"}),
        jwt.encode({**header, "alg": "HS256"}, claims, OctKey.import_key(public_json), algorithms=["HS256"]),
        _forge_hs256({**header, "alg": "HS256"}, claims, pem),
        _forge_hs256({**header, "alg": "HS256"}, claims, public_json),
    ]
    for token in forged:
        response = _userinfo(client, token)
        assert response.status_code == 401 and response.json()["error"] == "invalid_token", token[:40]


def test_id_token_presented_as_access_token_is_refused(
    app: FastAPI, client: TestClient, rp: Client, technician: Person
) -> None:
    """RFC 8725 §2.8, §3.11 (cross-JWT confusion), RFC 9068 §4 (typ at+jwt): an ID token, signed by the same key,
    is not accepted as an access token at UserInfo or at introspection."""
    body = tokens(client, app, rp, technician)
    response = _userinfo(client, body["id_token"])
    assert response.status_code == 401 and response.json()["error"] == "invalid_token"
    introspection = client.post(
        "/introspect", data={"token": body["id_token"]}, auth=(rp.client_id, rp.client_secret or "")
    )
    assert introspection.json() == {"active": False}


def test_duplicated_parameters_are_refused(app: FastAPI, client: TestClient, rp: Client, technician: Person) -> None:
    """RFC 6749 §3.1 and §3.2 ("Request and response parameters MUST NOT be included more than once"), RFC 9700
    §4.1 / §4.11 (parameter confusion): a repeated parameter at /authorize (GET or POST) gets an invalid_request
    error page and no redirect; at /token and /par a JSON invalid_request."""
    base = authorize_url(rp)
    for query in (
        f"{base}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
        f"{base}&state=again",
        f"{base}&scope=openid",
    ):
        response = client.get(query, follow_redirects=False)
        assert response.status_code == 400 and "location" not in response.headers
        assert 'id="oauth-error">invalid_request<' in response.text
    posted = client.post(
        "/authorize",
        content=base.split("?", 1)[1] + "&client_id=" + rp.client_id,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert posted.status_code == 400 and "location" not in posted.headers
    flow, verifier = code_flow(client, app, rp, technician)
    body = f"grant_type=authorization_code&code={flow.code}&code={flow.code}&redirect_uri={REDIRECT}"
    body += f"&code_verifier={verifier}"
    for path in ("/token", "/par"):
        response = client.post(
            path,
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            auth=(rp.client_id, rp.client_secret or ""),
        )
        assert response.status_code == 400 and response.json()["error"] == "invalid_request", (path, response.text)


def test_oversize_parameters_are_refused(app: FastAPI, client: TestClient, rp: Client) -> None:
    """RFC 9700 §4.1 / RFC 6749 §3.1 robustness: an authorization parameter over the limit is refused with
    invalid_request (to the validated redirect URI, with iss), a huge one or too many parameters on an error page,
    oversize token requests with invalid_request and bodies over the limit with 413."""
    flow = run_flow(client, app, authorize_url(rp, nonce="n" * 3000, state="st-big"))
    assert flow.params["error"] == "invalid_request" and flow.params["iss"] == ISSUER and "code" not in flow.params
    huge = client.get(authorize_url(rp, login_hint="x" * 20_000), follow_redirects=False)
    assert huge.status_code == 400 and "location" not in huge.headers
    many = client.get(authorize_url(rp) + "".join(f"&p{i}=1" for i in range(80)), follow_redirects=False)
    assert many.status_code == 400 and "location" not in many.headers
    token = token_request(client, rp, grant_type="authorization_code", code="c" * 20_000, redirect_uri=REDIRECT)
    assert token.status_code == 400 and token.json()["error"] == "invalid_request"
    assert token_request(client, rp, grant_type="authorization_code", code="c" * 1_100_000).status_code == 413
