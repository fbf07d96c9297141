"""Sign-in in a real browser (headless Chromium) against a real server process, in Japanese.

Each test uses its own technician: a TOTP code is accepted once per 30-second step per account.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pyotp
import pytest
from playwright.sync_api import CDPSession, Page, expect

from tests.e2e.conftest import Technician
from tests.support.server import LiveServer

pytestmark = pytest.mark.e2e

OTP_FAILED_JA = "コードが正しくないか、既に使われています"


def _password_step(page: Page, server: LiveServer, person: Technician) -> None:
    page.goto(server.url("/login"))
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("h1")).to_have_text("サインイン")
    page.locator("input[name=username]").fill(person.technician_id)
    page.locator("input[name=password]").fill(person.password)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(server.url("/login/otp"))
    expect(page.locator("h1")).to_have_text("確認コード")


def _submit_otp(page: Page, code: str) -> None:
    page.locator("input[name=otp]").fill(code)
    page.locator("form[action='/login/otp'] button[type=submit]").click()


def _sign_in_with_password_and_totp(page: Page, server: LiveServer, person: Technician) -> None:
    _password_step(page, server, person)
    _submit_otp(page, pyotp.TOTP(person.totp_secret).now())
    page.wait_for_url(server.url("/account"))
    expect(page.locator("h1")).to_have_text("マイアカウント")


def _expect_signed_out(page: Page, server: LiveServer) -> None:
    """/account sends a visitor without an active session to the sign-in page."""
    page.goto(server.url("/account"))
    page.wait_for_url(server.url("/login?next=/account"))
    expect(page.locator("h1")).to_have_text("サインイン")


def _wrong_code(secret: str) -> str:
    """Six digits that are not the code of any step near now (so not accepted through clock drift)."""
    totp, now = pyotp.TOTP(secret), time.time()
    near = {totp.at(now + 30 * k) for k in range(-3, 4)}
    return next(code for code in (str(d) * 6 for d in range(10)) if code not in near)


def test_password_and_totp_sign_in_in_japanese_with_english_switch(
    page: Page, live_server: LiveServer, make_technician: Callable[..., Technician]
) -> None:
    """Issue 2 item 6: TOTP second factor (RFC 6238) after the password; issue 2 item 7: the form
    fields are named username / password / otp; pages are Japanese first with an English switch."""
    person = make_technician(name="鈴木 一郎", kana="スズキ イチロウ")

    _sign_in_with_password_and_totp(page, live_server, person)

    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page).to_have_title("マイアカウント — 現場ID")
    expect(page.locator("p.who")).to_contain_text(person.name)
    expect(page.locator("#my-data")).to_contain_text(person.name)
    expect(page.locator("#my-data")).to_contain_text(person.technician_id)
    expect(page.locator("#sessions")).to_contain_text("この端末")

    page.locator("a.lang").click()  # "English"
    page.wait_for_url(live_server.url("/account?lang=en"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("My account")
    expect(page.locator("#my-data")).to_contain_text(person.name)


def _add_virtual_authenticator(page: Page) -> tuple[CDPSession, str]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def test_passkey_registration_then_passwordless_sign_in(
    page: Page, live_server: LiveServer, make_technician: Callable[..., Technician]
) -> None:
    """WebAuthn passkey as phishing-resistant alternative (W3C WebAuthn L3): registered on
    マイアカウント after a password + TOTP sign-in, then used alone (discoverable credential,
    user verification) to sign in without typing the ID or password; amr says hwk (RFC 8176)."""
    person = make_technician(name="佐藤 花子", kana="サトウ ハナコ", gender="female")
    _sign_in_with_password_and_totp(page, live_server, person)
    cdp, authenticator_id = _add_virtual_authenticator(page)
    expect(page.locator("#passkeys")).to_have_text("パスキーは登録されていません")

    page.locator("#passkey-register").click()
    page.wait_for_url(live_server.url("/account?saved=passkey"))
    expect(page.get_by_role("status")).to_have_text("パスキーを登録しました")
    expect(page.locator("#passkeys li")).to_have_count(1)
    expect(page.locator("#passkeys li")).to_contain_text("passkey")
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]
    assert len(stored) == 1 and stored[0]["isResidentCredential"], stored

    page.locator("#signout").click()
    expect(page.get_by_role("status")).to_have_text("サインアウトしました")
    _expect_signed_out(page, live_server)

    page.locator("#passkey-signin").click()
    page.wait_for_url(live_server.url("/account"))
    expect(page.locator("h1")).to_have_text("マイアカウント")
    expect(page.locator("#my-data")).to_contain_text(person.name)
    expect(page.locator("#my-data")).to_contain_text(person.technician_id)
    this_device = page.locator("#sessions li", has_text="この端末")
    expect(this_device).to_contain_text("hwk")
    expect(this_device).not_to_contain_text("pwd")
    used = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]
    assert used[0]["signCount"] > stored[0]["signCount"], used


def test_wrong_totp_code_shows_japanese_error_and_does_not_sign_in(
    page: Page, live_server: LiveServer, make_technician: Callable[..., Technician]
) -> None:
    """Issue 2 item 6: TOTP second factor (RFC 6238) — a wrong code is refused with a Japanese
    message, the sign-in stays at the code step, and no session is signed in."""
    person = make_technician(name="田中 健", kana="タナカ ケン")
    _password_step(page, live_server, person)

    _submit_otp(page, _wrong_code(person.totp_secret))

    expect(page.get_by_role("alert")).to_have_text(OTP_FAILED_JA)
    expect(page).to_have_url(live_server.url("/login/otp"))
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("h1")).to_have_text("確認コード")
    expect(page.locator("input[name=otp]")).to_be_visible()
    _expect_signed_out(page, live_server)
