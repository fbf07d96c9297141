"""Issue 12 item 8 (500s), found by the protocol fuzzing on PostgreSQL: a NUL character in a client_id
(form or Basic header), a query parameter or a path segment reached PostgreSQL, which cannot hold
U+0000 in text, and the request was a 500 — at /revoke, /token, /par, /authorize, the credential
offer and the gate's request object and response.

RFC 6749 Appendix A: client ids, tokens, codes and the other parameters are VSCHAR/NQCHAR
(%x20-7E) or URIs (RFC 3986, no NUL). A NUL is the client's mistake: 400 ``invalid_request``, or 401
``invalid_client`` where the client authenticates. Run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.live_backends import server_on
from tests.support.server import LiveServer

NUL = "\x00"
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/revoke", {"data": {"client_id": NUL, "token": "x"}}),
    ("POST", "/introspect", {"data": {"client_id": NUL, "token": "x"}}),
    ("POST", "/token", {"data": {"grant_type": "client_credentials", "client_id": NUL}}),
    (
        "POST",
        "/token",
        {
            "data": {"grant_type": "client_credentials"},
            "headers": {"Authorization": "Basic " + base64.b64encode(f"{NUL}:x".encode()).decode()},
        },
    ),
    ("POST", "/par", {"data": {"client_id": NUL, "response_type": "code"}}),
    ("GET", "/authorize?client_id=%00&response_type=code", {}),
    ("GET", "/wallet/offers/%00", {}),
    ("GET", "/gate/requests/%00/object", {}),
    ("POST", "/gate/responses/%00", {"data": {"response": "x"}}),
    ("POST", "/login", {"data": {"username": NUL, "password": "x", "csrf_token": "x"}}),
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with server_on(request.param, Path(tmp_path_factory.mktemp(f"nul-{request.param}"))) as server:
        yield server


def test_a_nul_character_is_a_client_error_not_a_500(live: LiveServer) -> None:
    for method, path, options in CASES:
        answer = httpx.request(method, live.url(path), timeout=30, **options)
        assert answer.status_code in (400, 401, 403), (method, path, answer.status_code, answer.text[:200])
        if path != "/login":  # a page: a readable refusal, not a protocol error
            assert answer.json()["error"] in ("invalid_request", "invalid_client"), (method, path, answer.text)
