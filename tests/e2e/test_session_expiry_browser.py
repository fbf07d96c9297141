"""A button pressed after the session ended, in Chromium (issue 15, Broken 3): the sign-in page says why
(「一定時間操作がなかったため、もう一度サインインしてください」) and signing in again returns to the account page
the button was on, not to an English 「Method Not Allowed」.

The session is made to end the way the idle limit ends it: its last activity is moved 31 minutes back in
the server's own database (the server process keeps running; nothing sleeps).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pyotp
import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, col, select

from idp.models import Account, WebSession
from tests.e2e.conftest import Technician
from tests.support.server import LiveServer

pytestmark = pytest.mark.e2e

ENDED_JA = "一定時間操作がなかったため、もう一度サインインしてください"


def _sign_in(page: Page, server: LiveServer, person: Technician, code: str) -> None:
    page.locator("input[name=username]").fill(person.technician_id)
    page.locator("input[name=password]").fill(person.password)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(server.url("/login/otp"))
    page.locator("input[name=otp]").fill(code)
    page.locator("form[action='/login/otp'] button[type=submit]").click()


def _idle(server: LiveServer, person: Technician) -> None:
    """The technician's sessions last saw him 31 minutes ago (the idle limit is 30)."""
    with server.database() as engine, Session(engine) as db:
        account = db.exec(select(Account).where(col(Account.username) == person.technician_id)).one()
        for row in db.exec(select(WebSession).where(col(WebSession.account_id) == account.id)).all():
            row.last_seen_at = row.last_seen_at - timedelta(minutes=31)
            db.add(row)
        db.commit()


def test_a_button_pressed_after_the_session_ended_explains_and_returns_to_its_page(
    page: Page, live_server: LiveServer, make_technician: Callable[..., Technician]
) -> None:
    """Issue 15 Broken 3: 「新しい回復コードを発行」 pressed on マイアカウント after the idle limit → the sign-in page
    with the reason in Japanese → password and TOTP → マイアカウント again (GET, its heading), no 405."""
    person = make_technician(name="期限 切太", kana="キゲン キリタ")
    totp = pyotp.TOTP(person.totp_secret)
    page.goto(live_server.url("/login"))
    _sign_in(page, live_server, person, totp.now())
    page.wait_for_url(live_server.url("/account"))
    expect(page.locator("h1")).to_have_text("マイアカウント")

    _idle(live_server, person)
    page.locator("form[action='/account/recovery-codes'] button[type=submit]").click()

    page.wait_for_url(live_server.url("/login?next=/account"))
    expect(page.locator("h1")).to_have_text("サインイン")
    expect(page.locator("p.notice")).to_have_text(ENDED_JA)
    expect(page.locator("input[name=next]")).to_have_value("/account")

    # the next step's code: this step's was spent on the first sign-in (RFC 6238 §5.2 allows one step of drift)
    _sign_in(page, live_server, person, totp.at(time.time() + 30))
    page.wait_for_url(live_server.url("/account"))
    expect(page.locator("h1")).to_have_text("マイアカウント")
    expect(page.locator("body")).not_to_contain_text("Method Not Allowed")
