"""Hole 6 (SSRF): a registered ``backchannel_logout_uri`` of ``http://127.0.0.1:<port>/internal?x=1``
was POSTed to (and retried 8 times); any internal host was allowed.

Now every URL the server calls goes through one outbound policy (common/outbound.py): loopback,
private, link-local, CGNAT, multicast, unspecified and metadata addresses are refused after DNS
resolution unless the explicit development setting ``GENBA_OUTBOUND_ALLOW_PRIVATE`` is on. Such a
URI is refused at registration (RFC 7591 §3.2.2 ``invalid_client_metadata``), and one already stored
is never called: the delivery is given up at once instead of being retried.

The server here runs WITHOUT the development setting, as production does; the receiver is a real
HTTP endpoint on 127.0.0.1 standing for an internal service.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, select

from idp.models import LogoutDelivery, OAuthClient
from idp.oauth.logout import MAX_ATTEMPTS
from tests.support.http_user import Credentials, HttpUser
from tests.support.receiver import Receiver, receiver
from tests.support.rp import code_flow
from tests.support.server import LiveServer, start_server, stop_server

INITIAL = "initial-access-token-for-hole-6-0123456789"
DELIVERY_WAIT_SECONDS = 30.0


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with dynamic registration on and the outbound policy at its production default."""
    env = {"GENBA_REGISTRATION_TOKEN_SHA256": hashlib.sha256(INITIAL.encode()).hexdigest()}
    server = start_server(tmp_path_factory.mktemp("hole6"), env)
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture
def internal() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


def _register(server: LiveServer, **metadata: Any) -> httpx.Response:
    body = {"redirect_uris": ["https://rp.example/cb"], "client_name": "外部システム", **metadata}
    return httpx.post(server.url("/register"), json=body, headers={"Authorization": f"Bearer {INITIAL}"}, timeout=30)


def test_a_loopback_backchannel_logout_uri_is_refused_at_registration(strict: LiveServer, internal: Receiver) -> None:
    port = internal.url.split(":")[2].split("/")[0]
    response = _register(strict, backchannel_logout_uri=f"http://127.0.0.1:{port}/internal?x=1")
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_client_metadata"
    assert internal.received == [] and not internal.arrived.is_set()


@pytest.mark.parametrize(
    "uri",
    [
        "http://localhost/bc",  # RFC 6761: always loopback
        "http://[::1]/bc",
        "https://10.1.2.3/bc",  # RFC 1918
        "https://192.168.0.10/bc",
        "https://100.64.0.1/bc",  # RFC 6598 shared (CGNAT)
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "https://[fd00:ec2::254]/bc",  # AWS metadata over IPv6
        "https://[::ffff:127.0.0.1]/bc",  # IPv4-mapped loopback
        "https://0.0.0.0/bc",
        "https://224.0.0.1/bc",  # multicast
    ],
)
def test_internal_addresses_in_every_spelling_are_refused_at_registration(strict: LiveServer, uri: str) -> None:
    response = _register(strict, backchannel_logout_uri=uri)
    assert response.status_code == 400, (uri, response.text)
    assert response.json()["error"] == "invalid_client_metadata"


def test_an_external_backchannel_logout_uri_is_still_registered(strict: LiveServer) -> None:
    """The control: the refusal is about the address, not back-channel logout itself."""
    response = _register(strict, backchannel_logout_uri="https://rp.example/backchannel")
    assert response.status_code == 201, response.text
    assert response.json()["backchannel_logout_uri"] == "https://rp.example/backchannel"


def _stored_internal_client(server: LiveServer, uri: str) -> dict[str, Any]:
    """A client whose back-channel URI points inside, as one stored before the policy (or while the
    development setting was on) would: made with the CLI, then its URI written in the database."""
    client = server.create_client(name="旧システム", redirect_uris=["https://rp.example/cb"])
    with server.database() as engine, Session(engine) as db:
        row = db.get(OAuthClient, client["client_id"])
        assert row is not None
        row.backchannel_logout_uri = uri
        db.add(row)
        db.commit()
    return client


def _delivery(server: LiveServer, client_id: str) -> LogoutDelivery | None:
    with server.database() as engine, Session(engine) as db:
        stmt = select(LogoutDelivery).where(col(LogoutDelivery.client_id) == client_id)
        return db.exec(stmt).first()


def _wait_for_the_attempt(server: LiveServer, client_id: str, arrived: threading.Event) -> LogoutDelivery | None:
    """Until the receiver got a request or the server recorded its attempt (the delivery runs after
    the sign-out response); waiting on the receiver's event, not sleeping."""
    deadline = time.monotonic() + DELIVERY_WAIT_SECONDS
    while time.monotonic() < deadline:
        if arrived.wait(0.1):
            return _delivery(server, client_id)
        row = _delivery(server, client_id)
        if row is not None and row.attempts > 0:
            return row
    raise AssertionError("the server neither called the receiver nor recorded an attempt")


def test_a_stored_internal_uri_is_never_posted_to_nor_retried(strict: LiveServer, internal: Receiver) -> None:
    client = _stored_internal_client(strict, internal.url.replace("/backchannel", "/internal?x=1"))
    made = strict.create_technician(technician_id="40000000006001", name="内部 太郎", kana="ナイブ タロウ")
    user = HttpUser(strict, Credentials("40000000006001", made["password"], made["totp_secret"])).sign_in()
    try:
        code_flow(user, client)
        signed_out = user.form("/account", "/logout", {})
        assert signed_out.status_code in (200, 303), signed_out.text[:300]
        row = _wait_for_the_attempt(strict, client["client_id"], internal.arrived)
    finally:
        user.close()
    assert internal.received == [] and not internal.arrived.is_set(), "the server posted to an internal address"
    assert row is not None and "refused" in (row.last_error or "") and "loopback" in (row.last_error or "")
    assert row.delivered_at is None and row.attempts == MAX_ATTEMPTS  # given up at once: no retries


@pytest.mark.parametrize(
    "metadata",
    [
        {"jwks_uri": "http://169.254.169.254/latest/meta-data/iam/"},
        {"sector_identifier_uri": "http://127.0.0.1:6379/"},
        {"request_uris": ["http://10.0.0.7/request.jwt"]},
    ],
)
def test_metadata_the_provider_would_have_to_fetch_is_refused(strict: LiveServer, metadata: dict[str, Any]) -> None:
    """The provider fetches no jwks_uri, sector_identifier_uri or request_uris: registering one is
    refused (invalid_client_metadata) instead of silently ignored, so no URL of that kind is ever stored."""
    response = _register(strict, **metadata)
    assert response.status_code == 400, (metadata, response.text)
    assert response.json()["error"] == "invalid_client_metadata"
