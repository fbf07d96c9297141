"""Issue 12 item 8: a password change left the account's other sessions signed in, so whoever had
taken over a session (the reason people change a password) kept it.

Now a successful change ends every other browser session of the account and keeps the one that
made the change (idp/web/account_pages.py ``end_other_sessions``; NIST SP 800-63B §7.1, OWASP
Session Management Cheat Sheet). Attacked over HTTP: the owner and an intruder are both signed in;
the owner changes the password; the intruder's cookie no longer opens /account.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.support.http_user import Credentials, HttpUser
from tests.support.server import LiveServer

NEW_PASSWORD = "a new long passphrase 2026"


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(
    server: LiveServer, users: Callable[..., HttpUser], technician: Callable[..., Credentials]
) -> None:
    who = technician()
    owner = users(server).sign_in(who)
    intruder = users(server).sign_in(who, steps_ahead=1)
    assert intruder.get("/account").status_code == 200  # both are signed in

    changed = owner.form(
        "/account", "/account/password", {"current_password": who.password, "new_password": NEW_PASSWORD}
    )
    assert (changed.status_code, changed.headers.get("location")) == (303, "/account?saved=password")

    assert owner.get("/account").status_code == 200  # the session that changed it goes on
    gone = intruder.get("/account")
    assert gone.status_code == 303 and gone.headers["location"].startswith("/login"), gone.status_code


def test_a_failed_password_change_ends_nothing(
    server: LiveServer, users: Callable[..., HttpUser], technician: Callable[..., Credentials]
) -> None:
    who = technician()
    owner = users(server).sign_in(who)
    other = users(server).sign_in(who, steps_ahead=1)
    refused = owner.form(
        "/account", "/account/password", {"current_password": "not the password", "new_password": NEW_PASSWORD}
    )
    assert refused.status_code == 400
    assert other.get("/account").status_code == 200
