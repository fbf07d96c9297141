"""Issue 12 hole 3, second half of its mechanism: a wallet that proves itself with OAuth client
attestation (draft-ietf-oauth-attestation-based-client-auth; OpenID4VC HAIP 1.0 §4.3) gets
credentials; nobody else does.

A server trusting one wallet provider (``GENBA_WALLET_PROVIDERS``) is started for this module. The
same ordinary public client is refused ``openid_credential`` without an attestation
(``invalid_authorization_details``, RFC 9396 §5), gets the CCUS card with one from the trusted
provider at /par and /token, and is refused (``invalid_client``, RFC 6749 §5.2) with a forged or
untrusted attestation, or when it leaves the attestation off at /token.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from tests.support.attestation import WalletProvider, headers, pop
from tests.support.http_user import Credentials, HttpUser, authorize, pkce
from tests.support.rp import details
from tests.support.server import LiveServer, start_server, stop_server

REDIRECT = "https://wallet.example/cb"
CARD = details({"type": "openid_credential", "credential_configuration_id": "ccus_card"})
PROVIDER = WalletProvider("https://wallet-provider.example")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """This module's own server (it overrides the shared one for the conftest fixtures): it trusts
    ``PROVIDER`` and nobody else."""
    tmp = tmp_path_factory.mktemp("attested-wallet")
    trust = PROVIDER.trust_file(Path(tmp) / "wallet-providers.json")
    live = start_server(Path(tmp) / "server", {"GENBA_WALLET_PROVIDERS": str(trust)})
    try:
        live.genba("demo", "--no-serve", "--json")
        yield live
    finally:
        stop_server(live)


def _attested(
    server: LiveServer, client_id: str, instance: ECKey, provider: WalletProvider = PROVIDER
) -> dict[str, str]:
    """Fresh headers: the provider's attestation of ``instance`` and a new PoP for this server."""
    now = int(time.time())
    attestation = provider.attest(client_id, instance, now=now)
    return headers(attestation, pop(instance, client_id=client_id, audience=server.base_url, now=now))


def _push(
    server: LiveServer,
    client_id: str,
    challenge: str,
    extra: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> httpx.Response:
    form = {
        **(form or {}),
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "state": "w",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "authorization_details": CARD,
    }
    return httpx.post(server.base_url + "/par", data=form, headers=extra or {}, timeout=30)


def _code(me: HttpUser, client_id: str, request_uri: str) -> dict[str, list[str]]:
    return authorize(me, {"client_id": client_id, "request_uri": request_uri})


def _exchange(
    server: LiveServer, client_id: str, code: str, verifier: str, extra: dict[str, str] | None = None
) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        "client_id": client_id,
    }
    return httpx.post(server.base_url + "/token", data=form, headers=extra or {}, timeout=30)


def _card(server: LiveServer, access_token: str) -> httpx.Response:
    """OpenID4VCI 1.0 §8: a nonce, a key proof, the credential request."""
    nonce = httpx.post(server.base_url + "/wallet/nonce", timeout=30).json()["c_nonce"]
    holder = ECKey.generate_key("P-256")
    proof = jwt.encode(
        {"typ": "openid4vci-proof+jwt", "alg": "ES256", "jwk": holder.as_dict(private=False)},
        {"aud": server.base_url, "iat": int(time.time()), "nonce": nonce},
        holder,
        algorithms=["ES256"],
    )
    return httpx.post(
        server.base_url + "/wallet/credential",
        json={"credential_identifier": "ccus_card", "proofs": {"jwt": [proof]}},
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=30,
    )


@pytest.fixture
def wallet_app(client_app: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """A wallet app registered to authenticate by attestation (``attest_jwt_client_auth``), not
    registered as a wallet by the operator: only its attestations make it one."""
    return client_app(public=True, auth_method="attest_jwt_client_auth", redirect_uris=[REDIRECT])


@pytest.fixture
def ordinary_app(client_app: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """An ordinary public client (``none``)."""
    return client_app(public=True, redirect_uris=[REDIRECT])


def test_without_an_attestation_the_client_is_refused(
    server: LiveServer,
    technician: Callable[..., Credentials],
    users: Callable[..., HttpUser],
    wallet_app: dict[str, Any],
    ordinary_app: dict[str, Any],
) -> None:
    """Through PAR or directly, an unattested client asking for ``openid_credential`` gets
    ``invalid_authorization_details`` (issue 12 hole 3): at /par as the answer to the push, since a
    pushed request is validated as /authorize would validate it (RFC 9126 §2.1, §2.3); an ordinary
    public client cannot attest at all, not even with a trusted provider's attestation made for its
    client_id (``invalid_client``); a client registered to attest cannot push without one
    (``invalid_client``)."""
    me = users(server, technician()).sign_in()
    _, challenge = pkce()
    ordinary = ordinary_app["client_id"]
    pushed = _push(server, ordinary, challenge)
    assert pushed.status_code == 400, pushed.text
    assert pushed.json()["error"] == "invalid_authorization_details" and "request_uri" not in pushed.json()
    attested = _push(server, ordinary, challenge, _attested(server, ordinary, ECKey.generate_key("P-256")))
    assert attested.status_code in (400, 401) and attested.json()["error"] == "invalid_client", attested.text
    bare = _push(server, wallet_app["client_id"], challenge)
    assert bare.status_code in (400, 401) and bare.json()["error"] == "invalid_client", bare.text
    # the provider's own record of an attested push cannot be written by the client, in the pushed
    # form or in the query of a plain authorization request
    claimed = {"__attested_by": PROVIDER.issuer}
    pushed = _push(server, ordinary, challenge, form=claimed)
    assert pushed.status_code == 400 and pushed.json()["error"] == "invalid_authorization_details", pushed.text
    direct = {
        "client_id": ordinary,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "authorization_details": CARD,
        **claimed,
    }
    back = authorize(me, direct)
    assert back.get("error") == ["invalid_authorization_details"], back


def test_a_trusted_attestation_at_par_and_token_gets_the_card(
    server: LiveServer,
    technician: Callable[..., Credentials],
    users: Callable[..., HttpUser],
    wallet_app: dict[str, Any],
) -> None:
    """HAIP 1.0 §4.3: the same client, attested by the trusted provider at /par and again at /token,
    is a holder's wallet for this request; its token fetches the card at the credential endpoint."""
    me = users(server, technician()).sign_in()
    client_id = wallet_app["client_id"]
    instance = ECKey.generate_key("P-256")
    verifier, challenge = pkce()
    pushed = _push(server, client_id, challenge, _attested(server, client_id, instance))
    assert pushed.status_code == 201, pushed.text
    back = _code(me, client_id, pushed.json()["request_uri"])
    assert "code" in back, back
    token = _exchange(server, client_id, back["code"][0], verifier, _attested(server, client_id, instance))
    assert token.status_code == 200, token.text
    assert token.json()["authorization_details"][0]["credential_configuration_id"] == "ccus_card"
    issued = _card(server, token.json()["access_token"])
    assert issued.status_code == 200, issued.text
    assert issued.json()["credentials"][0]["credential"]
    # the refresh token, too, serves the attested wallet only (RFC 6749 §6: the client authenticates)
    form = {"grant_type": "refresh_token", "refresh_token": token.json()["refresh_token"], "client_id": client_id}
    bare = httpx.post(server.base_url + "/token", data=form, timeout=30)
    assert bare.json().get("error") == "invalid_client", bare.text
    again = httpx.post(
        server.base_url + "/token", data=form, headers=_attested(server, client_id, instance), timeout=30
    )
    assert again.status_code == 200, again.text


def test_the_token_request_must_be_attested_too(
    server: LiveServer,
    technician: Callable[..., Credentials],
    users: Callable[..., HttpUser],
    wallet_app: dict[str, Any],
) -> None:
    """A code granted to an attested wallet is worth nothing to the client without the attestation
    (someone holding the client id and the code, e.g. through a hijacked redirect)."""
    me = users(server, technician()).sign_in()
    client_id = wallet_app["client_id"]
    instance = ECKey.generate_key("P-256")
    verifier, challenge = pkce()
    pushed = _push(server, client_id, challenge, _attested(server, client_id, instance))
    assert pushed.status_code == 201, pushed.text
    back = _code(me, client_id, pushed.json()["request_uri"])
    assert "code" in back, back
    token = _exchange(server, client_id, back["code"][0], verifier)
    assert token.status_code in (400, 401), token.text
    assert token.json()["error"] == "invalid_client"


def test_a_forged_or_untrusted_attestation_is_refused(
    server: LiveServer, wallet_app: dict[str, Any], client_app: Callable[..., dict[str, Any]]
) -> None:
    """``invalid_client`` at /par: the trusted provider's name with another key, a provider nobody
    trusts, an attestation of another client, a PoP replayed, a PoP not made with the attested key."""
    client_id = wallet_app["client_id"]
    instance = ECKey.generate_key("P-256")
    _, challenge = pkce()
    impostor = WalletProvider(PROVIDER.issuer)  # same name, its own key
    stranger = WalletProvider("https://stranger-wallets.example")
    other = client_app(public=True, redirect_uris=[REDIRECT])
    now = int(time.time())
    good = PROVIDER.attest(client_id, instance, now=now)
    replayed = headers(good, pop(instance, client_id=client_id, audience=server.base_url, now=now))
    assert _push(server, client_id, challenge, replayed).status_code == 201  # its first use
    thief = ECKey.generate_key("P-256")
    cases = {
        "forged": _attested(server, client_id, instance, impostor),
        "untrusted": _attested(server, client_id, instance, stranger),
        "another client's": _attested(server, other["client_id"], instance),
        "replayed": replayed,
        "stolen": headers(good, pop(thief, client_id=client_id, audience=server.base_url, now=now)),
    }
    for name, extra in cases.items():
        pushed = _push(server, client_id, challenge, extra)
        assert pushed.status_code in (400, 401), (name, pushed.text)
        assert pushed.json()["error"] == "invalid_client", (name, pushed.text)


def test_discovery_advertises_the_method(server: LiveServer) -> None:
    """RFC 8414 §2 and the draft's metadata: wallets find out that the server takes attestations."""
    data = httpx.get(server.base_url + "/.well-known/oauth-authorization-server", timeout=30).json()
    assert "attest_jwt_client_auth" in data["token_endpoint_auth_methods_supported"]
    assert "ES256" in data["client_attestation_pop_signing_alg_values_supported"]
    assert "attest_jwt_client_auth" not in data["introspection_endpoint_auth_methods_supported"]
