"""Issue 12 item 8 (500s), found by the protocol fuzzing: a credential request whose
``credential_configuration_id`` is a list (``[null]``) made ``POST /wallet/credential`` raise
``TypeError: unhashable type`` — a 500 to the holder's wallet.

OpenID4VCI 1.0 §8.2: ``credential_configuration_id`` and ``credential_identifier`` are strings;
§8.3.1.2: a request that is not understood is ``invalid_credential_request`` (400).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from tests.support.http_user import Credentials
from tests.support.server import LiveServer

PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
MALFORMED = [
    {"credential_configuration_id": [None]},
    {"credential_configuration_id": ["ccus_card"]},
    {"credential_configuration_id": {"id": "ccus_card"}},
    {"credential_identifier": ["ccus_card"]},
]


def test_a_credential_request_with_a_non_string_id_is_invalid_credential_request(
    server: LiveServer, technician: Callable[..., Credentials]
) -> None:
    me = technician()
    made = json.loads(server.genba("credentials", "offer", "--technician-id", me.username, "--json").stdout)
    code = httpx.get(made["offer_uri"], timeout=30).json()["grants"][PRE_AUTH]["pre-authorized_code"]
    token = httpx.post(
        server.url("/token"),
        data={"grant_type": PRE_AUTH, "pre-authorized_code": code, "tx_code": made["tx_code"]},
        timeout=30,
    )
    assert token.status_code == 200, token.text
    auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
    for body in MALFORMED:
        answer = httpx.post(server.url("/wallet/credential"), json=body, headers=auth, timeout=30)
        assert answer.status_code == 400, (body, answer.status_code, answer.text[:300])
        assert answer.json()["error"] == "invalid_credential_request", (body, answer.text)
