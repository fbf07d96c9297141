"""Issue 12 hole 3: any relying party could obtain the technician's CCUS card credential.

A credential in a relying party's hands is a disclosure of everything in it (employer, social
insurance, 建退共) and lets that party present it at the gate as the technician. OpenID4VCI 1.0
§5.1.1 lets a *wallet* ask for ``openid_credential``; RFC 9396 §5: a type a client may not ask for
is ``invalid_authorization_details``. Only clients registered as a holder's wallet get one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.security.conftest import DEMO_EMPLOYER
from tests.support.http_user import Credentials, HttpUser, authorize, pkce
from tests.support.rp import details
from tests.support.server import LiveServer


def _ask_for_card(user: HttpUser, client: dict[str, Any], *, scope: str = "openid") -> dict[str, list[str]]:
    _, challenge = pkce()
    return authorize(
        user,
        {
            "client_id": client["client_id"],
            "response_type": "code",
            "redirect_uri": "https://rp.example/cb",
            "scope": scope,
            "state": "s",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "authorization_details": details({"type": "openid_credential", "credential_configuration_id": "ccus_card"}),
        },
    )


def test_an_ordinary_relying_party_cannot_ask_for_the_ccus_card(
    server: LiveServer,
    technician: Callable[..., Credentials],
    client_app: Callable[..., dict[str, Any]],
    users: Callable[..., HttpUser],
) -> None:
    """RFC 9396 §5 ``invalid_authorization_details``, before any consent screen is shown: neither a
    third party nor the employer's own system may receive a credential (issue 12 hole 3)."""
    me = users(server, technician()).sign_in()
    for owner in (None, DEMO_EMPLOYER):
        rp = client_app(**({"owner_employer_id": owner} if owner else {}))
        back = _ask_for_card(me, rp)
        assert back.get("error") == ["invalid_authorization_details"], back
        assert "code" not in back


def test_a_registered_holder_wallet_still_gets_the_card(
    server: LiveServer,
    technician: Callable[..., Credentials],
    client_app: Callable[..., dict[str, Any]],
    users: Callable[..., HttpUser],
) -> None:
    """The control: a client the operator registered as a holder's wallet (``--wallet``) asks the
    same and gets its code, with the credential in the granted details (OpenID4VCI 1.0 §5.1.1)."""
    me = users(server, technician()).sign_in()
    wallet = client_app(wallet=True, public=True, redirect_uris=["https://rp.example/cb"])
    back = _ask_for_card(me, wallet)
    assert "code" in back, back
