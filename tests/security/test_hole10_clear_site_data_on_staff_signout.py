"""Issue 12 item 10 (gate tablet): a shared tablet kept the previous staff member's synced rosters (face
photos included), operator details and queue after sign-out. The gate page deletes them itself
(test_hole10_gate_tablet.py); the server now also tells the browser to, whatever page signed out:
``Clear-Site-Data: "cache", "storage"`` (W3C Clear Site Data §3.1) on the sign-out of gate staff,
employer staff and operators (idp/web/signin_pages.py ``clear_staff_device``).

Never for a technician: his web wallet keeps its credential keys in IndexedDB on this same origin,
and "storage" would destroy them.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable

import pytest

from tests.security.conftest import DEMO_PRIME
from tests.support.http_user import Credentials, HttpUser
from tests.support.server import LiveServer

CLEAR = '"cache", "storage"'


def _operator(server: LiveServer) -> Credentials:
    login = f"op{secrets.token_hex(3)}"
    data = json.loads(
        server.genba(
            "admin", "create-operator", "--login", login, "--display-name", "運用 担当", "--with-totp", "--json"
        ).stdout
    )
    return Credentials(data["username"], data["password"], data["totp_secret"])


@pytest.mark.parametrize("kind", ["gate staff", "employer admin", "operator"])
def test_a_staff_sign_out_clears_the_devices_site_data(
    server: LiveServer, users: Callable[..., HttpUser], staff: Callable[..., Credentials], kind: str
) -> None:
    who = {
        "gate staff": lambda: staff(employer_id=DEMO_PRIME, role="staff"),
        "employer admin": lambda: staff(role="admin"),
        "operator": lambda: _operator(server),
    }[kind]()
    tablet = users(server).sign_in(who)
    out = tablet.form("/logout", "/logout", {})
    assert out.status_code == 200
    assert out.headers.get("clear-site-data") == CLEAR
    assert tablet.get("/account").status_code == 303


def test_a_technicians_sign_out_never_clears_his_wallet(
    server: LiveServer, users: Callable[..., HttpUser], technician: Callable[..., Credentials]
) -> None:
    phone = users(server).sign_in(technician())
    for everywhere in ("0", "1"):
        out = phone.form("/logout", "/logout", {"everywhere": everywhere})
        assert out.status_code == 200 and "clear-site-data" not in out.headers
        if everywhere == "0":
            phone.sign_in(steps_ahead=1)


def test_a_staff_sign_out_through_rp_initiated_logout_clears_it_too(
    server: LiveServer, users: Callable[..., HttpUser], staff: Callable[..., Credentials]
) -> None:
    """OIDC RP-Initiated Logout 1.0: the confirmation posted to /session/end/confirm ends the session."""
    tablet = users(server).sign_in(staff(employer_id=DEMO_PRIME, role="staff"))
    out = tablet.form("/session/end", "/session/end/confirm", {"logout": "yes"})
    assert out.status_code == 200, out.text[:300]
    assert out.headers.get("clear-site-data") == CLEAR
