"""DPoP proofs at the token endpoint and DPoP-bound access tokens (RFC 9449; RFC 9700 §4.10.1
sender-constrained tokens; idp/oauth/dpop.py). Each test names the section it checks."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support.clock import FrozenClock
from tests.support.oidc import ISSUER, REDIRECT, Client, code_flow, dpop_proof, new_key, post_token, unsigned_jwt
from tests.support.web import Person


def _userinfo(api: TestClient, token: str, scheme: str = "Bearer", **headers: str) -> Any:
    return api.get("/userinfo", headers={"Authorization": f"{scheme} {token}", **headers})


def test_malformed_or_replayed_dpop_proof_gets_invalid_dpop_proof(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """RFC 9449 §4.3 (checking DPoP proofs), §5 (invalid_dpop_proof), §11.1 (replay); RFC 9700 §4.10.1
    (sender-constrained tokens): malformed proofs and a replayed one are refused with 400 invalid_dpop_proof."""
    key, url = new_key("ES256"), ISSUER + "/token"
    other = new_key("ES256")
    bad = {
        "not a JWS": "not-a-jws",
        "typ JWT": dpop_proof(key, "POST", url, now=clock.now, header_typ="JWT"),
        "alg none": unsigned_jwt(
            {"jti": "j" * 12, "htm": "POST", "htu": url, "iat": int(clock.now.timestamp())},
            {"typ": "dpop+jwt", "alg": "none", "jwk": key.as_dict(private=False)},
        ),
        "private jwk": dpop_proof(key, "POST", url, now=clock.now, header_jwk=key.as_dict(private=True)),
        "wrong key": dpop_proof(key, "POST", url, now=clock.now, header_jwk=other.as_dict(private=False)),
        "htm": dpop_proof(key, "GET", url, now=clock.now),
        "htu": dpop_proof(key, "POST", ISSUER + "/par", now=clock.now),
        "iat old": dpop_proof(key, "POST", url, now=clock.now, iat=int(clock.now.timestamp()) - 600),
        "iat future": dpop_proof(key, "POST", url, now=clock.now, iat=int(clock.now.timestamp()) + 600),
        "no jti": dpop_proof(key, "POST", url, now=clock.now, jti=None),
    }
    flow, verifier = code_flow(client, app, rp, technician)
    form = {"grant_type": "authorization_code", "code": flow.code, "redirect_uri": REDIRECT, "code_verifier": verifier}
    for name, proof in bad.items():
        response = post_token(client, rp, form, {"DPoP": proof})
        assert response.status_code == 400 and response.json()["error"] == "invalid_dpop_proof", (name, response.text)
    two = post_token(client, rp, form, [("DPoP", dpop_proof(key, "POST", url, now=clock.now))] * 2)
    assert two.status_code == 400 and two.json()["error"] == "invalid_dpop_proof"
    proof = dpop_proof(key, "POST", url, now=clock.now)
    assert post_token(client, rp, form, {"DPoP": proof}).status_code == 200  # the code was not spent above
    refresh = {"grant_type": "refresh_token", "refresh_token": "anything"}
    replay = post_token(client, rp, refresh, {"DPoP": proof})
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_dpop_proof"


def test_dpop_bound_token_used_as_bearer_is_refused(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """RFC 9449 §7.1, §7.2 (a DPoP-bound token must be presented with the DPoP scheme and a proof with ath),
    RFC 9700 §4.10.1: used as a Bearer token, or without ath, it is refused; with a proper proof it works."""
    key = new_key("ES256")
    flow, verifier = code_flow(client, app, rp, technician)
    form = {"grant_type": "authorization_code", "code": flow.code, "redirect_uri": REDIRECT, "code_verifier": verifier}
    body = post_token(client, rp, form, {"DPoP": dpop_proof(key, "POST", ISSUER + "/token", now=clock.now)}).json()
    assert body["token_type"] == "DPoP"
    token = body["access_token"]
    bearer = _userinfo(client, token)
    assert bearer.status_code == 401 and bearer.json()["error"] == "invalid_token"
    no_ath = _userinfo(client, token, "DPoP", DPoP=dpop_proof(key, "GET", ISSUER + "/userinfo", now=clock.now))
    assert no_ath.status_code == 401 and "www-authenticate" in no_ath.headers
    other_key = _userinfo(
        client,
        token,
        "DPoP",
        DPoP=dpop_proof(new_key("ES256"), "GET", ISSUER + "/userinfo", now=clock.now, access_token=token),
    )
    assert other_key.status_code == 401
    proof = dpop_proof(key, "GET", ISSUER + "/userinfo", now=clock.now, access_token=token)
    assert _userinfo(client, token, "DPoP", DPoP=proof).status_code == 200
