"""Pushed authorization requests are validated as the authorization endpoint validates them
(RFC 9126 §2.1: "the authorization server MUST validate the pushed request as it would an
authorization request sent to the authorization endpoint"), and what ``/par`` stored is what
``/authorize`` acts on (§4)."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support.oidc import REDIRECT, Client, authorize_url, exchange, pkce, run_flow
from tests.support.web import Person

#: one fault each, and the error both endpoints answer it with (RFC 6749 §4.1.2.1, RFC 9396 §5)
FAULTS: dict[str, tuple[dict[str, str], str]] = {
    "unknown prompt": ({"prompt": "sometimes"}, "invalid_request"),
    "claims not an object": ({"claims": "[1]"}, "invalid_request"),
    "negative max_age": ({"max_age": "-1"}, "invalid_request"),
    "unknown response_mode": ({"response_mode": "fragment"}, "invalid_request"),
    "implicit response_type": ({"response_type": "token"}, "unsupported_response_type"),
    "unknown scope": ({"scope": "openid launch_codes"}, "invalid_scope"),
    "plain PKCE": ({"code_challenge_method": "plain"}, "invalid_request"),
    "unknown details type": (
        {"authorization_details": json.dumps([{"type": "launch_codes"}])},
        "invalid_authorization_details",
    ),
}


def _request(**changes: str) -> dict[str, str]:
    _, challenge = pkce()
    form = {
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "state": "st-par",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    form.update(changes)
    return form


@pytest.mark.parametrize("fault", FAULTS)
def test_a_fault_is_refused_alike_at_par_and_at_authorize(
    app: FastAPI, client: TestClient, rp: Client, technician: Person, fault: str
) -> None:
    """RFC 9126 §2.1 and §2.3: the fault /authorize sends back to the client (RFC 6749 §4.1.2.1) is the
    error /par answers with (400), and nothing is stored for it."""
    changes, error = FAULTS[fault]
    form = _request(**changes)
    direct = run_flow(client, app, authorize_url(rp, **form), person=technician)
    assert direct.params.get("error") == error, (direct.status, direct.params)
    pushed = client.post("/par", data=form, auth=(rp.client_id, rp.client_secret or ""))
    assert pushed.status_code == 400 and pushed.json()["error"] == error, pushed.text
    assert "request_uri" not in pushed.json()


def test_authorize_acts_on_the_request_par_validated(
    app: FastAPI, client: TestClient, rp: Client, technician: Person
) -> None:
    """RFC 9126 §4: with the request_uri, parameters sent beside it are not the request; the pushed
    ones are (state, PKCE challenge), and the code is issued for them."""
    verifier, challenge = pkce()
    form = _request(code_challenge=challenge, state="st-pushed")
    pushed = client.post("/par", data=form, auth=(rp.client_id, rp.client_secret or ""))
    assert pushed.status_code == 201, pushed.text
    url = authorize_url(rp, request_uri=pushed.json()["request_uri"], state="st-beside", prompt="sometimes")
    flow = run_flow(client, app, url, person=technician)
    assert flow.params.get("state") == "st-pushed", flow.params
    assert exchange(client, rp, flow.code, verifier).status_code == 200
