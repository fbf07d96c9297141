"""Issue 12 item 8: signed request objects (RFC 9101) without ``exp``, ``aud`` or ``nbf`` were
accepted, so one captured object could be replayed for ever and at any provider.

Now a signed request object must carry ``iss`` = the client_id, ``aud`` = this provider's issuer,
``exp`` and ``nbf``, live at most 60 minutes and have an ``nbf`` no more than 60 minutes old
(FAPI 2.0 Message Signing §5.3.1, RFC 9101 §10.8); otherwise ``invalid_request_object``, returned
before anyone signs in (RFC 9101 §6.3).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from tests.support.http_user import pkce
from tests.support.oidc import dpop_proof
from tests.support.server import LiveServer

REDIRECT = "https://rp.example/cb"


@pytest.fixture
def signer(client_app: Callable[..., dict[str, Any]]) -> tuple[dict[str, Any], ECKey]:
    key = ECKey.generate_key("P-256")
    jwks = {"keys": [{**key.as_dict(private=False), "kid": "rp-1", "use": "sig", "alg": "ES256"}]}
    return client_app(redirect_uris=[REDIRECT], jwks=json.dumps(jwks)), key


def _authorize(server: LiveServer, client: dict[str, Any], key: ECKey, **claims: Any) -> httpx.Response:
    body = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "state": "s-jar",
        "code_challenge": pkce()[1],
        "code_challenge_method": "S256",
        **claims,
    }
    request = jwt.encode({"alg": "ES256", "kid": "rp-1"}, {k: v for k, v in body.items() if v is not None}, key)
    query = {"client_id": client["client_id"], "response_type": "code", "request": request}
    return httpx.get(server.url("/authorize?" + urlencode(query)), timeout=30, follow_redirects=False)


def _outcome(server: LiveServer, response: httpx.Response) -> str:
    """The error sent back to the client (``error=...``), the error shown on the provider's page
    when the redirect URI inside the object cannot be trusted (OIDC Core §3.1.2.6), or
    ``accepted`` (the provider went on to sign-in)."""
    if response.status_code == 400:
        found = re.search(r'<code id="oauth-error">([a-z_]+)</code>', response.text)
        assert found is not None, response.text[:500]
        return found.group(1)
    assert response.status_code in (302, 303), (response.status_code, response.text[:300])
    location = response.headers["location"]
    if location.startswith(REDIRECT):
        return parse_qs(urlsplit(location).query).get("error", ["?"])[0]
    assert location.startswith("/") or location.startswith(server.base_url), location
    return "accepted"


def test_a_complete_signed_request_object_is_accepted(server: LiveServer, signer: tuple[dict, ECKey]) -> None:
    """The control: iss, aud, nbf and exp as required, a 5-minute lifetime."""
    client, key = signer
    now = int(time.time())
    response = _authorize(server, client, key, iss=client["client_id"], aud=server.base_url, nbf=now, exp=now + 300)
    assert _outcome(server, response) == "accepted"


@pytest.mark.parametrize(
    "change",
    [
        "no exp",
        "no nbf",
        "no aud",
        "aud of another provider",
        "no iss",
        "iss of another client",
        "lifetime over 60 minutes",
        "nbf over 60 minutes old",
        "exp as a string",
    ],
)
def test_an_incomplete_signed_request_object_is_refused(
    server: LiveServer, signer: tuple[dict, ECKey], change: str
) -> None:
    client, key = signer
    now = int(time.time())
    claims: dict[str, Any] = {"iss": client["client_id"], "aud": server.base_url, "nbf": now, "exp": now + 300}
    if change == "no exp":
        claims["exp"] = None
    elif change == "no nbf":
        claims["nbf"] = None
    elif change == "no aud":
        claims["aud"] = None
    elif change == "aud of another provider":
        claims["aud"] = "https://other-op.example"
    elif change == "no iss":
        claims["iss"] = None
    elif change == "iss of another client":
        claims["iss"] = "someone-else"
    elif change == "lifetime over 60 minutes":
        claims["exp"] = now + 3600 + 600
    elif change == "nbf over 60 minutes old":
        claims["nbf"], claims["exp"] = now - 3600 - 300, now + 60
    elif change == "exp as a string":
        claims["exp"] = str(now + 300)
    assert _outcome(server, _authorize(server, client, key, **claims)) == "invalid_request_object", change


def test_a_pushed_request_object_cannot_replace_the_dpop_proofs_key(
    server: LiveServer, client_app: Callable[..., dict[str, Any]]
) -> None:
    """RFC 9449 §10.1: a pushed authorization request with a DPoP proof binds the code to the proof's key;
    a ``dpop_jkt`` inside the signed request object naming another key is ``invalid_dpop_proof``, not a
    silent rebinding (the object was merged after the check)."""
    key = ECKey.generate_key("P-256")
    jwks = {"keys": [{**key.as_dict(private=False), "kid": "rp-1", "use": "sig", "alg": "ES256"}]}
    client = client_app(redirect_uris=[REDIRECT], jwks=json.dumps(jwks))
    proof_key, other = ECKey.generate_key("P-256"), ECKey.generate_key("P-256")
    now = int(time.time())
    body = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "code_challenge": pkce()[1],
        "code_challenge_method": "S256",
        "iss": client["client_id"],
        "aud": server.base_url,
        "nbf": now,
        "exp": now + 300,
        "dpop_jkt": other.thumbprint(),
    }
    request = jwt.encode({"alg": "ES256", "kid": "rp-1"}, body, key)
    proof = dpop_proof(proof_key, "POST", server.url("/par"), now=datetime.now(UTC))
    pushed = httpx.post(
        server.url("/par"),
        data={"request": request},
        auth=(client["client_id"], client["client_secret"]),
        headers={"DPoP": proof},
        timeout=30,
    )
    assert pushed.status_code == 400, pushed.text
    assert pushed.json()["error"] == "invalid_dpop_proof"
