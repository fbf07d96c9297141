"""Issue 12 item 8: pairwise ``sub`` was identical for unrelated native (loopback-redirect)
clients, because the sector was the redirect URI's host, ``127.0.0.1``, which every native app on
every device shares: two unrelated apps could correlate the same technician.

OIDC Core §8.1: the sector identifier is the host of the redirect URI only when that host names
the client's organisation; for a client whose redirect URIs are loopback, each client is its own
sector (unless it registers one), so the pairwise subjects differ. Two web clients on one host
still share their sector, as §8.1 intends.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from tests.support.http_user import Credentials, HttpUser
from tests.support.rp import code_flow
from tests.support.server import LiveServer


def _pairwise_client(server: LiveServer, name: str, redirect_uri: str, *, public: bool) -> dict[str, Any]:
    args = ["admin", "create-client", "--name", name, "--redirect-uri", redirect_uri, "--pairwise", "--json"]
    data: dict[str, Any] = json.loads(server.genba(*(args + (["--public"] if public else []))).stdout)
    data["redirect_uris"] = [redirect_uri]
    return data


def _sub(tokens: dict[str, Any]) -> str:
    payload = tokens["id_token"].split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


def test_unrelated_native_apps_get_different_pairwise_subjects(
    server: LiveServer, technician: Callable[..., Credentials], users: Callable[..., HttpUser]
) -> None:
    person = users(server, technician()).sign_in()
    first = _pairwise_client(server, "現場アプリA", "http://127.0.0.1/callback", public=True)
    second = _pairwise_client(server, "無関係アプリB", "http://127.0.0.1/callback", public=True)
    third = _pairwise_client(server, "無関係アプリC", "http://[::1]/cb", public=True)
    subs = [_sub(code_flow(person, c)) for c in (first, second, third)]
    assert len(set(subs)) == 3, subs
    assert _sub(code_flow(person, first)) == subs[0]  # stable for one client


def test_web_clients_of_one_host_still_share_their_sector(
    server: LiveServer, technician: Callable[..., Credentials], users: Callable[..., HttpUser]
) -> None:
    """The control: §8.1's sector is the host when the host is the organisation's own."""
    person = users(server, technician()).sign_in()
    payroll = _pairwise_client(server, "給与計算", "https://hr.example/cb", public=False)
    attendance = _pairwise_client(server, "勤怠管理", "https://hr.example/attendance/cb", public=False)
    assert _sub(code_flow(person, payroll)) == _sub(code_flow(person, attendance))
