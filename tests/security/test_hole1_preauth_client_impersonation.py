"""Issue 12 hole 1: client impersonation through the pre-authorized code grant.

OpenID4VCI 1.0 §6.1 / §3.5: the pre-authorized code authenticates the *holder* (the technician
who was shown the offer), not a client; ``client_id`` is optional and proves nothing (client ids
are public). The token it yields must therefore work at the credential endpoint only (RFC 8707
resource indicators, RFC 9068 §4 ``aud`` check), never at the data API as a registered client.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from tests.security.conftest import DEMO_EMPLOYER, DEMO_SITE, DEMO_TECHNICIAN
from tests.support.http_user import Credentials
from tests.support.server import LiveServer

PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


def _offer_token(server: LiveServer, technician_id: str, client_id: str) -> httpx.Response:
    """The technician's own offer, redeemed with ``client_id`` set to someone else's system."""
    made = json.loads(server.genba("credentials", "offer", "--technician-id", technician_id, "--json").stdout)
    uri = made["offer_uri"]
    document = httpx.get(uri, timeout=30).json()
    code = document["grants"][PRE_AUTH]["pre-authorized_code"]
    return httpx.post(
        server.url("/token"),
        data={"grant_type": PRE_AUTH, "pre-authorized_code": code, "tx_code": made["tx_code"], "client_id": client_id},
        timeout=30,
    )


def test_pre_authorized_token_does_not_act_as_a_registered_client(
    server: LiveServer,
    technician: Callable[..., Credentials],
    client_app: Callable[..., dict[str, Any]],
) -> None:
    """The employer's payroll system is impersonated with a technician's own offer code: its token
    must be refused by the data API (technician record, roster, consent requests)."""
    payroll = client_app(owner_employer_id=DEMO_EMPLOYER, grant_types=["client_credentials"])
    me = technician()
    response = _offer_token(server, me.username, payroll["client_id"])
    if response.status_code == 200:
        token = response.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        colleague = httpx.get(server.url(f"/api/v1/technicians/{DEMO_TECHNICIAN}"), headers=auth, timeout=30)
        roster = httpx.get(server.url(f"/api/v1/sites/{DEMO_SITE}/roster"), headers=auth, timeout=30)
        ask = httpx.post(
            server.url("/api/v1/consent-requests"),
            headers=auth,
            json={
                "technician_ids": [DEMO_TECHNICIAN],
                "groups": ["contact"],
                "purpose": "x",
                "period_end": "2027-12-31",
            },
            timeout=30,
        )
        for answer in (colleague, roster, ask):
            assert answer.status_code == 401, (answer.request.url, answer.status_code, answer.text)
            assert "invalid_token" in answer.headers.get("www-authenticate", ""), answer.headers
    else:  # refusing the impersonating client_id at the token endpoint is also a refusal
        assert response.status_code in (400, 401) and response.json()["error"] in ("invalid_client", "invalid_request")
