"""Refresh token rotation (RFC 9700 §4.14.2; RFC 6749 §6, §10.4): each refresh returns a new refresh token,
and a rotated one presented after the grace is replay that revokes the grant (idp/oauth/grants.py)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support.clock import FrozenClock
from tests.support.oidc import Client, token_request, tokens
from tests.support.web import Person


def _userinfo(api: TestClient, token: str, scheme: str = "Bearer", **headers: str) -> Any:
    return api.get("/userinfo", headers={"Authorization": f"{scheme} {token}", **headers})


def _refresh(api: TestClient, rp: Client, token: str) -> Any:
    return token_request(api, rp, grant_type="refresh_token", refresh_token=token)


def test_refresh_token_rotation_and_replay_revokes_the_grant(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """§4.14.2 (refresh token rotation): every refresh returns a new refresh token; a concurrent reuse of the old
    one within the short grace still works (two tabs), but presenting a rotated token after the grace is treated
    as replay: the grant is revoked, so the newest refresh token and every access token stop working."""
    first = tokens(client, app, rp, technician, scope="openid offline_access")
    second = _refresh(client, rp, first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    clock.advance(seconds=5)
    tab = _refresh(client, rp, first["refresh_token"])  # another tab, within the grace
    assert tab.status_code == 200, tab.text
    newest = _refresh(client, rp, second["refresh_token"]).json()
    assert _userinfo(client, newest["access_token"]).status_code == 200
    clock.advance(seconds=30)
    replay = _refresh(client, rp, first["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert _refresh(client, rp, newest["refresh_token"]).json()["error"] == "invalid_grant"
    for access_token in (first["access_token"], second["access_token"], newest["access_token"]):
        assert _userinfo(client, access_token).status_code == 401
