"""A relying party on the network: the code flow against a real server with ``HttpUser``, the token
endpoint with the client's secret, as a certified RP library would call them."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.support.http_user import HttpUser, authorize, pkce


def code_flow(
    user: HttpUser, client: dict[str, Any], *, scope: str = "openid", decision: str = "approve", **extra: str
) -> dict[str, Any]:
    """Authorize as the signed-in ``user`` (approving the consent screen), exchange the code, and
    return the token response (asserting both steps succeed)."""
    verifier, challenge = pkce()
    redirect = client.get("redirect_uris", ["https://rp.example/cb"])[0]
    params = {
        "client_id": client["client_id"],
        "response_type": "code",
        "redirect_uri": redirect,
        "scope": scope,
        "state": "s1",
        "nonce": "n1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    back = authorize(user, params, decision=decision)
    assert "code" in back, back
    response = token(
        user.server.base_url,
        client,
        {
            "grant_type": "authorization_code",
            "code": back["code"][0],
            "redirect_uri": redirect,
            "code_verifier": verifier,
        },
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def token(base_url: str, client: dict[str, Any], form: dict[str, str]) -> httpx.Response:
    """POST /token with client_secret_basic (or the public client's id)."""
    auth = (client["client_id"], client["client_secret"]) if client.get("client_secret") else None
    if auth is None:
        form = {**form, "client_id": client["client_id"]}
    return httpx.post(base_url + "/token", data=form, auth=auth, timeout=30)


def introspect(base_url: str, client: dict[str, Any], value: str) -> dict[str, Any]:
    response = httpx.post(
        base_url + "/introspect", data={"token": value}, auth=(client["client_id"], client["client_secret"]), timeout=30
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def details(*entries: dict[str, Any]) -> str:
    return json.dumps(list(entries), ensure_ascii=False)
