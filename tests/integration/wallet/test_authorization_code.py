"""OpenID4VCI 1.0 authorization code flow through Genba ID's own provider with the HAIP 1.0 profile:
PAR (RFC 9126), PKCE S256 and DPoP (RFC 9449) with ``authorization_details`` of type
``openid_credential`` (OpenID4VCI §5.1.1); the credential endpoint accepts the DPoP-bound token."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey

from tests.support.clock import FrozenClock
from tests.support.oidc import dpop_proof, follow_to_client, pkce, register_client
from tests.support.web import make_technician, sign_in
from wallet import sdjwt

ISSUER = "http://localhost"
REDIRECT = "http://127.0.0.1:47123/wallet/cb"


def test_haip_authorization_code_issuance(app: FastAPI, client: TestClient, clock: FrozenClock) -> None:
    person = make_technician(app)
    wallet = register_client(
        app,
        client_name="現場IDウォレット",
        client_type="public",
        redirect_uris=[REDIRECT],
        require_par=True,
        require_dpop=True,
        holder_wallet=True,
    )
    sign_in(client, app, person)
    dpop_key, verifier_challenge = ECKey.generate_key("P-256"), pkce()
    verifier, challenge = verifier_challenge
    details = [{"type": "openid_credential", "credential_configuration_id": "ccus_card"}]
    now = clock()
    pushed = client.post(
        "/par",
        data={
            "client_id": wallet.client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "scope": "openid",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "w1",
            "authorization_details": json.dumps(details),
        },
        headers={"DPoP": dpop_proof(dpop_key, "POST", f"{ISSUER}/par", now=now)},
    )
    assert pushed.status_code == 201, pushed.text
    # Without PAR the client is refused (RFC 9126 §5: require_pushed_authorization_requests).
    direct = follow_to_client(
        client,
        "/authorize?" + urlencode({"client_id": wallet.client_id, "response_type": "code", "redirect_uri": REDIRECT}),
    )
    assert direct["error"] == "invalid_request"
    result = follow_to_client(
        client, "/authorize?" + urlencode({"client_id": wallet.client_id, "request_uri": pushed.json()["request_uri"]})
    )
    token = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": result["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            "client_id": wallet.client_id,
        },
        headers={"DPoP": dpop_proof(dpop_key, "POST", f"{ISSUER}/token", now=now)},
    )
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["token_type"] == "DPoP"
    assert body["authorization_details"][0]["credential_identifiers"] == ["ccus_card"]
    access = body["access_token"]
    nonce = client.post("/wallet/nonce").json()["c_nonce"]
    holder = ECKey.generate_key("P-256")
    proof = jwt.encode(
        {"typ": "openid4vci-proof+jwt", "alg": "ES256", "jwk": holder.as_dict(private=False)},
        {"aud": ISSUER, "iat": int(now.timestamp()), "nonce": nonce},
        holder,
        algorithms=["ES256"],
    )
    request = {"credential_identifier": "ccus_card", "proofs": {"jwt": [proof]}}
    as_bearer = client.post("/wallet/credential", json=request, headers={"Authorization": f"Bearer {access}"})
    assert as_bearer.status_code == 401  # a DPoP-bound token is not a bearer token (RFC 9449 §7.1)
    issued = client.post(
        "/wallet/credential",
        json=request,
        headers={
            "Authorization": f"DPoP {access}",
            "DPoP": dpop_proof(dpop_key, "POST", f"{ISSUER}/wallet/credential", now=now, access_token=access),
        },
    )
    assert issued.status_code == 200, issued.text
    parsed = sdjwt.parse(issued.json()["credentials"][0]["credential"])
    payload = json.loads(sdjwt.b64url_decode(parsed.issuer_jwt.split(".")[1]))
    assert payload["cnf"]["jwk"]["x"] == holder.as_dict(private=False)["x"]
