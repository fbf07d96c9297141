"""Issue 12 item 8 (500s), found by the access-control matrix: a signed-in person's malformed passkey
registration response (``{}``, a credential without ``id``) made ``POST /account/passkeys/verify``
raise py_webauthn's ``InvalidJSONStructure``, an unhandled 500 that also reset the connection.

WebAuthn Level 3 §7.1 step 1-3: a response that cannot be parsed fails the ceremony; the page gets
a 400 ``passkey_failed`` it can show, and nothing is registered.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.support.http_user import Credentials, HttpUser, csrf_of
from tests.support.server import LiveServer

MALFORMED = [
    {},
    {"id": 1},
    {"id": "x", "rawId": "x", "type": "public-key", "response": "x"},
    {"id": "x", "rawId": "x", "type": "public-key", "response": {"clientDataJSON": 5, "attestationObject": []}},
]


def test_a_malformed_passkey_registration_is_a_400_not_a_500(
    server: LiveServer, technician: Callable[..., Credentials], users: Callable[..., HttpUser]
) -> None:
    me = users(server, technician()).sign_in()
    csrf = csrf_of(me.get("/login").text)
    headers = {"X-CSRF-Token": csrf, "Origin": server.base_url, "Content-Type": "application/json"}
    for body in MALFORMED:
        options = me.post("/account/passkeys/options", headers=headers)
        assert options.status_code == 200, options.text
        answer = me.post("/account/passkeys/verify", headers=headers, content=json.dumps(body))
        assert answer.status_code == 400, (body, answer.status_code, answer.text[:300])
        assert answer.json()["error"] == "passkey_failed"
    assert "/account/passkeys/" not in me.get("/account").text, "nothing was registered"
