"""Hole 10 (second pass): unauthenticated ``POST /wallet/nonce`` and ``GET /authorize`` each
stored a row that was never deleted, with no rate limit — anyone could fill the database.

Now each client address gets a bounded number of such requests a minute (429 + Retry-After
beyond it), and the rows are deleted once expired: by every worker before it serves and then
periodically, and by ``genba db purge``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlmodel import Session, SQLModel, select

from idp.models import Interaction
from tests.support.server import LiveServer, start_server, stop_server
from wallet.models import WalletNonce

LIMIT = 3
LIMIT_ENV = {"GENBA_ANONYMOUS_REQUESTS_PER_MINUTE": str(LIMIT)}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server of its own with a small per-address limit (the shared one serves every test from
    127.0.0.1), and a registered client whose /authorize requests anyone may send."""
    tmp = tmp_path_factory.mktemp("anonymous-rows")
    state: dict[str, Any] = {"tmp": tmp, "server": start_server(tmp, LIMIT_ENV)}
    try:
        state["client"] = state["server"].create_client(name="試験RP", redirect_uris=["https://rp.example/cb"])
        yield state
    finally:
        stop_server(state["server"])


def _authorize_url(server: LiveServer, client_id: str) -> str:
    verifier = base64.urlsafe_b64encode(hashlib.sha256(b"v").digest()).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": "https://rp.example/cb",
        "scope": "openid",
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return server.url("/authorize?" + urlencode(params))


def _rows(server: LiveServer, model: type[SQLModel]) -> list[Any]:
    with server.database() as engine, Session(engine) as session:
        return list(session.exec(select(model)).all())


def _expire_all(server: LiveServer, model: type[Any]) -> None:
    """What the passing of time does: every row's expiry is now in the past."""
    with server.database() as engine, Session(engine) as session:
        for row in session.exec(select(model)).all():
            row.expires_at = datetime.now(UTC) - timedelta(minutes=1)
            session.add(row)
        session.commit()


def test_nonce_requests_beyond_the_limit_are_refused_and_store_nothing(limited: dict[str, Any]) -> None:
    """RFC 6585 §4 (429 with Retry-After); OpenID4VCI §7 nonce endpoint errors are JSON."""
    server: LiveServer = limited["server"]
    answers = [httpx.post(server.url("/wallet/nonce"), timeout=30) for _ in range(LIMIT + 2)]
    assert [a.status_code for a in answers] == [200] * LIMIT + [429, 429]
    assert int(answers[-1].headers["retry-after"]) > 0
    assert answers[-1].json()["error"] == "temporarily_unavailable"
    assert len(_rows(server, WalletNonce)) == LIMIT


def test_anonymous_authorization_requests_beyond_the_limit_are_refused(limited: dict[str, Any]) -> None:
    """Each anonymous GET /authorize stores an interaction; beyond the limit a person sees a page."""
    server: LiveServer = limited["server"]
    url = _authorize_url(server, limited["client"]["client_id"])
    answers = [httpx.get(url, timeout=30) for _ in range(LIMIT + 1)]
    assert all(a.status_code in (302, 303) and "/login" in a.headers["location"] for a in answers[:LIMIT])
    refused = answers[-1]
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert refused.headers["content-type"].startswith("text/html") and "Too many requests" in refused.text
    assert len(_rows(server, Interaction)) == LIMIT


def test_expired_rows_are_deleted_by_the_server_and_by_genba_db_purge(limited: dict[str, Any]) -> None:
    """Runs after the two above: their nonces and interactions expire, then disappear."""
    server: LiveServer = limited["server"]
    assert _rows(server, WalletNonce) and _rows(server, Interaction)

    _expire_all(server, WalletNonce)  # a worker deletes expired rows before it serves
    stop_server(server)
    limited["server"] = server = start_server(Path(limited["tmp"]), LIMIT_ENV)
    assert _rows(server, WalletNonce) == []
    assert len(_rows(server, Interaction)) == LIMIT  # not expired yet: kept

    _expire_all(server, Interaction)  # the operator's command
    counts = json.loads(server.genba("db", "purge", "--json").stdout)
    assert counts["interaction"] == LIMIT
    assert _rows(server, Interaction) == []
