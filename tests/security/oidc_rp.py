"""A relying party over HTTP for the security tests: the code flow with PKCE (the browser side is
``tests.support.http_user.authorize``), the token exchange, userinfo and the ID token's payload."""

from __future__ import annotations

import base64
import itertools
import json
import secrets
from datetime import date, timedelta
from typing import Any

import httpx

from tests.support.http_user import HttpUser, authorize, pkce
from tests.support.server import LiveServer

REDIRECT_URI = "https://rp.example/cb"  # the client_app fixture's default
STANDARD = "openid profile phone address"
IN_ID_TOKEN = {"id_token": {"name": None, "birthdate": None, "gender": None, "address": None, "phone_number": None}}
PERSONAL_ADDRESS, PERSONAL_PHONE = "東京都江東区東陽4-5-6", "090-1234-5678"  # LiveServer.create_technician's
COMPANY_ADDRESS, COMPANY_PHONE = "大阪府大阪市中央区本町9-9-9", "06-9999-0000"
_employers = itertools.count(1)


def new_employer(server: LiveServer) -> str:
    """A company of its own per test, so that its settings touch no other test."""
    employer_id = f"{33000000000000 + next(_employers) * 7907:014d}"
    server.create_employer(
        employer_id=employer_id, trade_name="株式会社 試験工務店", address=COMPANY_ADDRESS, phone=COMPANY_PHONE
    )
    return employer_id


def both_approve(technician: HttpUser, client: dict[str, Any], admin: HttpUser, groups: list[str]) -> dict[str, Any]:
    """The technician approves a ``genba_technician_data`` request on the consent screen, then the
    employer's administrator (signed in) approves it on the employer page; the token response."""
    details = [
        {
            "type": "genba_technician_data",
            "groups": groups,
            "purpose": "給与計算のための本人確認",
            "period_end": (date.today() + timedelta(days=90)).isoformat(),
        }
    ]
    tokens = code_flow(technician, client, scope=STANDARD, details=details, claims=IN_ID_TOKEN)
    consent_id = tokens["authorization_details"][0]["consent_id"]
    done = admin.form("/consent/employer", "/consent/employer/bulk", {f"id_{consent_id}": "1", "decision": "approve"})
    assert done.status_code == 303, done.text[:500]
    return tokens


def code_flow(
    user: HttpUser,
    client: dict[str, Any],
    *,
    scope: str,
    details: list[dict[str, Any]] | None = None,
    claims: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Sign-in already done: authorize (approving the consent screen), exchange the code; the token response."""
    verifier, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if details is not None:
        params["authorization_details"] = json.dumps(details, ensure_ascii=False)
    if claims is not None:
        params["claims"] = json.dumps(claims)
    answer = authorize(user, params)
    assert "code" in answer, answer
    response = httpx.post(
        user.server.url("/token"),
        data={
            "grant_type": "authorization_code",
            "code": answer["code"][0],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(client["client_id"], client["client_secret"]),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refresh(server: LiveServer, client: dict[str, Any], refresh_token: str) -> dict[str, Any]:
    response = httpx.post(
        server.url("/token"),
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(client["client_id"], client["client_secret"]),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def userinfo(server: LiveServer, access_token: str) -> dict[str, Any]:
    response = httpx.get(server.url("/userinfo"), headers={"Authorization": f"Bearer {access_token}"}, timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def payload(jwt: str) -> dict[str, Any]:
    """A JWT's claims (the signature is the conformance tests' concern, not what these tests attack)."""
    segment = jwt.split(".")[1]
    value: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return value


def disclosures(technician: HttpUser, recipient_client_id: str) -> list[dict[str, Any]]:
    """The technician's own export of the records of provision (APPI art. 33(5)) to that client."""
    response = technician.get("/consent/records.json")
    assert response.status_code == 200, response.text
    return [
        r
        for r in response.json()["records"]
        if r["kind"] == "disclosure" and r["recipient"].startswith(f"client:{recipient_client_id}")
    ]
