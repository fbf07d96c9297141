"""Issue 12 item 8 (500s at dynamic registration), found by the protocol fuzzing: client metadata of
the wrong JSON type — ``redirect_uris: true``, ``redirect_uris: [null]``, ``response_types: [1]``,
``grant_types: true``, ``logo_uri: 1``, ``jwks: 1`` — made ``POST /register`` a 500, some of them
still on main after the outbound branch's fixes. RFC 7591 §3.2.2: ``invalid_client_metadata``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.security.access_world import INITIAL_ACCESS_TOKEN, SERVER_ENV
from tests.support.server import LiveServer, running_server

CB = ["https://rp.example/cb"]
WRONG: list[dict[str, Any]] = [
    {"redirect_uris": True},
    {"redirect_uris": [None]},
    {"redirect_uris": [1]},
    {"redirect_uris": CB, "response_types": [None]},
    {"redirect_uris": CB, "response_types": True},
    {"redirect_uris": CB, "grant_types": True},
    {"redirect_uris": CB, "logo_uri": 1},
    {"redirect_uris": CB, "jwks": 1},
    {"redirect_uris": CB, "backchannel_logout_uri": 5},
    {"redirect_uris": CB, "scope": ["openid"]},
    {"redirect_uris": CB, "client_name": ["x"]},
]


@pytest.fixture(scope="module")
def registering(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running_server(Path(tmp_path_factory.mktemp("registration-types")), SERVER_ENV) as server:
        yield server


def test_metadata_of_the_wrong_json_type_is_invalid_client_metadata(registering: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {INITIAL_ACCESS_TOKEN}"}
    for body in WRONG:
        answer = httpx.post(registering.url("/register"), json=body, headers=headers, timeout=30)
        assert answer.status_code == 400, (body, answer.status_code, answer.text[:200])
        assert answer.json()["error"] == "invalid_client_metadata", (body, answer.text)
    fine = httpx.post(registering.url("/register"), json={"redirect_uris": CB}, headers=headers, timeout=30)
    assert fine.status_code == 201, fine.text  # the control


def test_an_update_of_the_wrong_json_type_is_invalid_client_metadata(registering: LiveServer) -> None:
    """RFC 7592 §2.2: the same metadata, the same check."""
    headers = {"Authorization": f"Bearer {INITIAL_ACCESS_TOKEN}"}
    made = httpx.post(registering.url("/register"), json={"redirect_uris": CB}, headers=headers, timeout=30).json()
    manage = {"Authorization": f"Bearer {made['registration_access_token']}"}
    for body in WRONG:
        answer = httpx.put(made["registration_client_uri"], json=body, headers=manage, timeout=30)
        assert answer.status_code == 400, (body, answer.status_code, answer.text[:200])
        assert answer.json()["error"] == "invalid_client_metadata", (body, answer.text)
