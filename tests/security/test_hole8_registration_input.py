"""Issue 12 item 8, dynamic registration input (RFC 7591 §2, §3.2.2): a ``backchannel_logout_uri``
or ``scope`` of a non-string type was a 500; a malformed URI (``https://a.example:99999/cb``) was
stored; ``client_name: ["x"]`` was coerced to the string ``"['x']"``.

Now every member has its JSON type checked before anything else, nothing is coerced, and every
registered URI must be a well-formed absolute URI (RFC 3986 §3: port 0-65535, a host name or IP
literal, no user information): ``invalid_client_metadata`` / ``invalid_redirect_uri``, never 500.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.server import LiveServer, start_server, stop_server

INITIAL = "initial-access-token-for-item-8-0123456789"


@pytest.fixture(scope="module")
def registering(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {"GENBA_REGISTRATION_TOKEN_SHA256": hashlib.sha256(INITIAL.encode()).hexdigest()}
    server = start_server(tmp_path_factory.mktemp("item8-registration"), env)
    try:
        yield server
    finally:
        stop_server(server)


def _register(server: LiveServer, **metadata: Any) -> httpx.Response:
    body = {"redirect_uris": ["https://rp.example/cb"], "client_name": "外部システム", **metadata}
    return httpx.post(server.url("/register"), json=body, headers={"Authorization": f"Bearer {INITIAL}"}, timeout=30)


@pytest.mark.parametrize(
    "metadata",
    [
        {"backchannel_logout_uri": 12345},
        {"backchannel_logout_uri": ["https://rp.example/bc"]},
        {"backchannel_logout_uri": {"uri": "https://rp.example/bc"}},
        {"scope": ["openid", "profile"]},
        {"scope": 7},
        {"scope": {"openid": True}},
        {"client_name": ["x"]},
        {"client_name": 42},
        {"token_endpoint_auth_method": ["none"]},
        {"require_pushed_authorization_requests": "yes"},
    ],
)
def test_a_member_of_the_wrong_type_is_invalid_client_metadata(registering: LiveServer, metadata: dict) -> None:
    response = _register(registering, **metadata)
    assert response.status_code == 400, (metadata, response.status_code, response.text[:300])
    assert response.json()["error"] == "invalid_client_metadata"


@pytest.mark.parametrize(
    "uri",
    [
        "https://a.example:99999/cb",  # port out of range
        "https://a.example:-1/cb",
        "https://a.example:8o8o/cb",
        "https://user:pw@a.example/cb",  # user information
        "https://a example/cb",
        "https://a.example/c b",
        "https://[not-an-address]/cb",
        "https:///cb",
    ],
)
def test_a_malformed_redirect_uri_is_refused_not_stored(registering: LiveServer, uri: str) -> None:
    response = _register(registering, redirect_uris=[uri])
    assert response.status_code == 400, (uri, response.text[:300])
    assert response.json()["error"] == "invalid_redirect_uri"


def test_a_malformed_post_logout_or_backchannel_uri_is_refused(registering: LiveServer) -> None:
    response = _register(registering, post_logout_redirect_uris=["https://a.example:99999/bye"])
    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_redirect_uri", "invalid_client_metadata")
    response = _register(registering, backchannel_logout_uri="https://a.example:99999/bc")
    assert response.status_code == 400 and response.json()["error"] == "invalid_client_metadata"


def test_well_formed_metadata_is_registered_as_given(registering: LiveServer) -> None:
    """The control: the same members with their proper types are registered unchanged."""
    response = _register(
        registering,
        client_name="給与計算",
        scope="openid profile",
        redirect_uris=["https://a.example:8443/cb"],
        backchannel_logout_uri="https://a.example/bc",
    )
    assert response.status_code == 201, response.text
    data = response.json()
    assert data["client_name"] == "給与計算" and data["scope"] == "openid profile"
    assert data["redirect_uris"] == ["https://a.example:8443/cb"]
