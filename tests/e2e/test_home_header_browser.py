"""The home and the shared header on a phone (issue 15 item 4), in headless Chromium at 390×844: each
demo account (tools/demo.py, built with tools/world.py — technician, employer admin, the prime
contractor's gate staff) signs in, and every page its home links to shows the way home and サインアウト
(idp/web/templates/base.html; the wallet and gate apps' own headers) without overflowing sideways.

The demo is loaded by the real ``genba demo --no-serve`` into a server of this module's own (the
shared live server's other tests make employers with the demo's IDs).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import WAIT_MS
from tests.support.server import LiveServer, running_server

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
#: the progressive web apps keep their own header (wallet/static): their way home and sign-out
APP_SIGNOUT = {"/wallet/app": "#nav-signout", "/gate/app": "#signout"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, list[dict[str, Any]]]]:
    with running_server(tmp_path_factory.mktemp("home-header")) as server:
        loaded: list[dict[str, Any]] = json.loads(server.genba("demo", "--no-serve", "--json").stdout)
        yield server, loaded


def _no_sideways_overflow(page: Page, where: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], (where, width)


def _sign_in(page: Page, server: LiveServer, account: dict[str, Any]) -> None:
    page.goto(server.url("/login"))
    page.locator("input[name=username]").fill(account["username"])
    page.locator("input[name=password]").fill(account["password"])
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(server.url("/login/otp"))
    page.locator("input[name=otp]").fill(pyotp.TOTP(account["totp_secret"]).now())
    page.locator("form[action='/login/otp'] button[type=submit]").click()
    page.wait_for_url(server.url("/account"))


@pytest.mark.parametrize("index", [0, 1, 2], ids=["technician", "employer_admin", "gate_staff"])
def test_every_page_from_the_home_has_the_header_and_fits_a_phone(
    index: int, browser: Browser, demo: tuple[LiveServer, list[dict[str, Any]]]
) -> None:
    """Issue 15 item 4: a header with the way home and サインアウト on every page reached from each demo
    role's home, and no page wider than a 390-pixel phone (document.documentElement.scrollWidth)."""
    server, accounts = demo
    context = browser.new_context(viewport=PHONE, locale="ja-JP", timezone_id="Asia/Tokyo")
    context.set_default_timeout(WAIT_MS)
    try:
        page = context.new_page()
        _sign_in(page, server, accounts[index])
        expect(page.locator("#nav-home")).to_be_visible()
        expect(page.locator("#nav-signout")).to_be_visible()
        _no_sideways_overflow(page, "/account")
        hrefs = page.locator("#home-actions a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        assert hrefs, accounts[index]["username"]
        for href in hrefs:
            page.goto(server.url(href))
            home = page.locator("#nav-home")
            expect(home).to_be_visible()
            expect(home).to_have_attribute("href", "/account")
            expect(page.locator(APP_SIGNOUT.get(href, "#nav-signout"))).to_be_visible()
            _no_sideways_overflow(page, href)
        page.goto(server.url("/account"))
        page.locator("#nav-signout").click()
        expect(page.get_by_role("status")).to_have_text("サインアウトしました")
        expect(page.locator("#nav-signout")).to_have_count(0)
    finally:
        context.close()
