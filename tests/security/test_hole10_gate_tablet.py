"""Issue 12, item 10 (last bullet): a shared gate tablet kept the previous staff member's synced bundles
(rosters with face photos), operator details and upload queue after sign-out, and uploaded whatever
queue it held with whoever was signed in.

Mechanism (wallet/static/gate/gate.js ``loadOperator``, ``forgetPreviousStaff``, ``signOut``,
``uploadPending``; the server side is in wallet/gate/upload.py): when the gate page finds nobody signed
in, or someone else, it deletes the previous staff member's bundles, operator details, settings and
sent results from the device; an unsent queue is kept only for its recorder and deleted unsent when
someone else signs in; the page's 「ログアウト」 deletes everything; each queued result names its
recorder and is only ever sent by them. Checked in real headless Chromium against a real server.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect

from tests.security.conftest import DEMO_PRIME, DEMO_SITE
from tests.support import gate_http
from tests.support.browser import WAIT_MS
from tests.support.http_user import Credentials
from tests.support.server import LiveServer

pytestmark = pytest.mark.e2e

_STORAGE = """async () => {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open("genba-gate", 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore("bundles", { keyPath: "key" });
      request.result.createObjectStore("events", { keyPath: "event_key" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const all = (name) => new Promise((resolve, reject) => {
    const query = db.transaction(name).objectStore(name).getAll();
    query.onsuccess = () => resolve(query.result);
    query.onerror = () => reject(query.error);
  });
  const out = {
    bundles: (await all("bundles")).map((b) => ({ key: b.key, roster: (b.bundle.roster || []).length })),
    events: (await all("events")).map((e) => ({
      event_key: e.event_key, recorded_by: e.recorded_by, uploaded: e.uploaded,
    })),
    operator: localStorage.getItem("genba-gate-operator"),
    settings: localStorage.getItem("genba-gate-settings"),
  };
  db.close();
  return out;
}"""
#: A result the page queued while offline (as verifyScanned stores it), recorded by ``by``.
_QUEUE = """async ({ key, by, site }) => {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open("genba-gate", 1);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  await new Promise((resolve, reject) => {
    const tx = db.transaction("events", "readwrite");
    tx.objectStore("events").put({
      event_key: key, site_id: site, gate_id: "tablet", technician_id: "10000000000019", direction: "in",
      at: Math.floor(Date.now() / 1000), ok: true, reasons: [], name: "鈴木 一郎", mode: "offline",
      uploaded: false, recorded_by: by, challenge: "GC1:x", presentation: ["GP1:x"],
    });
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}"""


@pytest.fixture
def tablet(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    context.set_default_timeout(WAIT_MS)
    try:
        yield context
    finally:
        context.close()


def sign_in(page: Page, server: LiveServer, who: Credentials) -> None:
    """Through the gate page's own sign-in link, back to the gate page."""
    page.goto(server.url("/gate/app"))
    expect(page.locator("#signin")).to_be_visible()
    page.locator("#signin-link").click()
    page.locator("input[name=username]").fill(who.username)
    page.locator("input[name=password]").fill(who.password)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(server.url("/login/otp"))
    page.locator("input[name=otp]").fill(pyotp.TOTP(who.totp_secret).now())
    page.locator("form[action='/login/otp'] button[type=submit]").click()
    page.wait_for_url(server.url("/gate/app"))
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    # the staff member's name on screen (issue 15, item 6), the login as its tooltip
    expect(page.locator("#operator")).to_have_text("試験 担当")
    expect(page.locator("#operator")).to_have_attribute("title", who.username)


def sync(page: Page) -> None:
    page.locator("#site").select_option(DEMO_SITE)
    page.locator("#gate-id").fill("tablet")
    page.locator("#gate-id").dispatch_event("change")
    page.locator("#sync").click()
    expect(page.get_by_role("status")).to_have_text(re.compile(r"^同期しました（名簿 \d+人）。$"))


def storage(page: Page) -> dict[str, Any]:
    found: dict[str, Any] = page.evaluate(_STORAGE)
    return found


def test_the_next_staff_member_finds_nothing_of_the_previous_one_and_never_sends_their_queue(
    server: LiveServer, staff: Callable[..., Credentials], tablet: BrowserContext
) -> None:
    """Issue 12 item 10: bundles, operator details and queue are cleared when the staff member's session
    is gone; an unsent queue is never uploaded from another staff member's session."""
    first, second = staff(employer_id=DEMO_PRIME, role="staff"), staff(employer_id=DEMO_PRIME, role="staff")
    page = tablet.new_page()
    sign_in(page, server, first)
    sync(page)
    before = storage(page)
    assert [b["key"] for b in before["bundles"]] == [f"{DEMO_SITE}|tablet"] and before["bundles"][0]["roster"] >= 1
    assert json.loads(before["operator"])["username"] == first.username

    # Offline at the gate, a check is queued; then the session ends (signed out elsewhere, or expired).
    tablet.set_offline(True)
    page.evaluate(_QUEUE, {"key": "q" * 40, "by": first.username, "site": DEMO_SITE})
    tablet.clear_cookies()
    tablet.set_offline(False)
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("#signin")).to_be_visible()
    expect(page.locator("#operator")).to_have_text("")
    expect(page.locator("#today-list li")).to_have_count(0)  # no roster, no names, no photos
    expect(page.locator("#queue-state")).to_have_attribute("data-pending", "1")
    expect(page.locator("#queue-state")).to_contain_text(first.username)
    after = storage(page)
    assert after["bundles"] == [] and after["settings"] is None, after
    assert after["events"] == [{"event_key": "q" * 40, "recorded_by": first.username, "uploaded": False}]

    # Someone else signs in on the tablet: the previous queue is deleted, never sent with their session.
    sent: list[str] = []

    def watch(request: Request) -> None:
        if request.url.endswith("/gate/events") and request.method == "POST":
            sent.append(request.post_data or "")

    page.on("request", watch)
    sign_in(page, server, second)
    expect(page.locator("#queue-state")).to_have_attribute("data-pending", "0")
    now = storage(page)
    assert now["events"] == [] and now["bundles"] == [], now
    assert json.loads(now["operator"])["username"] == second.username
    assert not any("q" * 40 in body for body in sent), sent
    assert gate_http.gate_rows(server, DEMO_SITE, "tablet") == ([], [])


def test_signing_out_from_the_gate_page_deletes_everything_of_the_staff_member(
    server: LiveServer, staff: Callable[..., Credentials], tablet: BrowserContext
) -> None:
    """Issue 12 item 10: 「ログアウト」 on the gate page clears the device before signing out."""
    who = staff(employer_id=DEMO_PRIME, role="staff")
    page = tablet.new_page()
    sign_in(page, server, who)
    sync(page)
    assert storage(page)["bundles"] != []
    page.locator("#signout").click()
    page.wait_for_url(server.url("/logout"))
    assert storage(page) == {"bundles": [], "events": [], "operator": None, "settings": None}


def test_a_staff_sign_out_from_any_page_makes_the_browser_delete_the_gate_data(
    server: LiveServer, staff: Callable[..., Credentials], tablet: BrowserContext
) -> None:
    """Issue 12 item 10: signing out without the gate page (here the account's own sign-out page) still
    empties the tablet, because the server answers a staff sign-out with ``Clear-Site-Data: "cache",
    "storage"`` (idp/web/cookies.py) and the browser deletes IndexedDB and localStorage itself."""
    who = staff(employer_id=DEMO_PRIME, role="staff")
    page = tablet.new_page()
    sign_in(page, server, who)
    sync(page)
    assert storage(page)["bundles"] != [] and storage(page)["operator"] is not None
    page.goto(server.url("/logout"))
    with page.expect_response(lambda r: r.url == server.url("/logout") and r.request.method == "POST") as answer:
        page.locator("form[action='/logout'] button[type=submit]").click()
    assert answer.value.all_headers().get("clear-site-data") == '"cache", "storage"'
    expect(page.get_by_role("status")).to_be_visible()
    assert storage(page) == {"bundles": [], "events": [], "operator": None, "settings": None}
