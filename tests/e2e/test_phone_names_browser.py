"""Issue 15, items 6 and 7, on a phone (390×844) in real Chromium against a real server process: the gate
page and the technician's wallet show names, not codes, and the gate's layout does not break into one
character a line.

- The gate's header names the site (新砂物流センター新築工事, not its 現場ID) and the staff member
  (門番 太郎, not the login ``<事業者ID>-gate…``); no visible text of more than 3 characters is laid out
  narrower than 2em (one character a line) and the page is no wider than the phone.
- A tablet that never synced says its roster is 未同期, not 「本日の作業員名簿にありません」.
- An entry, then a later refusal of the same technician: today's list keeps the entry.
- The wallet's presentation screen names the site and the prime contractor (the request object's
  ``client_metadata``, OpenID4VP 1.0 §5.1), shows course names instead of codes, and no protocol words
  (``openid4vp://``, ``GC1:``, ``openid-credential-offer://``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from tests.e2e.test_gate_browser import online_link, receive, result, set_up_gate, sign_in_gate, watch
from tests.support.browser import WAIT_MS
from tests.support.gate import KOGATA_CRANE, make_world
from tests.support.server import LiveServer

pytestmark = pytest.mark.e2e

PHONE: ViewportSize = {"width": 390, "height": 844}
SITE = "新砂物流センター新築工事"
PRIME = "株式会社 東京ゼネコン"
STAFF = "門番 太郎"
PROTOCOL_WORDS = ("openid4vp://", "GC1:", "openid-credential-offer://")

#: Visible text nodes longer than 3 characters whose box is narrower than 2em (one character a line),
#: and how wide the page is.
_LAYOUT = """() => {
  const narrow = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    if ([...text].length <= 3 || !node.parentElement) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const box = range.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue; // not shown
    const em = parseFloat(getComputedStyle(node.parentElement).fontSize);
    if (box.width < 2 * em) narrow.push(`${text} (${Math.round(box.width)}px)`);
  }
  return { narrow, width: document.documentElement.scrollWidth };
}"""


@pytest.fixture
def phones(browser: Browser, live_server: LiveServer) -> Iterator[tuple[BrowserContext, BrowserContext]]:
    """Two phones: the gate staff's and the technician's."""
    made = [browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", viewport=PHONE) for _ in range(2)]
    for ctx in made:
        ctx.set_default_timeout(WAIT_MS)
    try:
        yield made[0], made[1]
    finally:
        for ctx in made:
            ctx.close()


def assert_phone_layout(page: Page) -> None:
    layout = page.evaluate(_LAYOUT)
    assert layout["narrow"] == [], layout["narrow"]
    assert layout["width"] <= PHONE["width"], layout


def assert_no_protocol_words(page: Page) -> None:
    shown = page.locator("body").inner_text()
    assert not [w for w in PROTOCOL_WORDS if w in shown], shown


def present_online(gate: Page, wallet: Page, server: LiveServer) -> Page:
    """The gate's online QR opened in the wallet: the presentation screen (a new request each time)."""
    before = gate.locator("#online-qr").get_attribute("data-link") or ""
    gate.locator("#start").click()
    if before:  # the previous check's QR code stays in the page until the new request is shown
        expect(gate.locator("#online-qr")).not_to_have_attribute("data-link", before)
    link = online_link(gate)
    wallet.goto(server.url("/wallet/app#vp=" + quote(link, safe="")))
    expect(wallet.locator("#presentation")).to_be_visible()
    return wallet


def test_gate_and_wallet_on_a_phone_show_names_not_codes(
    phones: tuple[BrowserContext, BrowserContext], live_server: LiveServer, tmp_path: Path
) -> None:
    """Issue 15 items 6 and 7: names in the header and the wallet, a phone layout, 未同期, entries kept."""
    gate_ctx, wallet_ctx = phones
    errors: list[str] = []
    world = make_world(live_server, tmp_path, name="山本 五郎", kana="ヤマモト ゴロウ", courses=(KOGATA_CRANE,))
    wallet = watch(wallet_ctx.new_page(), errors)
    receive(wallet, live_server, world, 2)
    assert_no_protocol_words(wallet)
    assert_phone_layout(wallet)

    gate = watch(gate_ctx.new_page(), errors)
    sign_in_gate(gate, live_server, world.staff)
    expect(gate.locator("#operator")).to_have_text(STAFF)
    set_up_gate(gate, world, gate_id="north", kind="general")
    expect(gate.locator("#site-name")).to_have_text(SITE)
    expect(gate.locator(f"#site option[value='{world.site_id}']")).to_have_text(SITE)
    expect(gate.locator("#sync-state")).to_have_attribute("data-state", "missing")  # never synced
    assert_phone_layout(gate)

    # General work, online: who asks is named; the gate says its roster is not synced, not "not on it".
    screen = present_online(gate, wallet, live_server)
    expect(screen.locator("#presentation-to")).to_have_text(f"提示先: {SITE}（元請: {PRIME}）")
    assert_no_protocol_words(screen)
    assert_phone_layout(screen)
    screen.locator("#approve-presentation").click()
    expect(screen.get_by_role("status")).to_have_text("提示しました。ゲートの画面で結果を確認してください。")
    result(gate, ok=True)
    expect(gate.locator("#result-roster")).to_have_text("名簿が未同期です（同期すると所属と顔写真を確認できます）")
    expect(gate.locator("#result-roster")).to_have_attribute("data-reason", "unsynced")
    row = gate.locator(f"#today-list li[data-technician='{world.technician_id}']")
    expect(row).to_have_attribute("data-state", "in")
    expect(row.locator(".what")).to_have_text("名簿が未同期です（同期すると所属と顔写真を確認できます）")
    expect(gate.locator("body")).not_to_contain_text("本日の作業員名簿にありません")
    assert_phone_layout(gate)

    # Crane work: the wallet names the courses (not 'tamakake'); 玉掛け is missing, so the gate refuses.
    gate.locator("#result-setup").click()
    set_up_gate(gate, world, gate_id="north", kind="crane")
    screen = present_online(gate, wallet, live_server)
    crane = screen.locator(".present-item[data-query='course_kogata_idoshiki_crane']")
    expect(crane.locator("li[data-claim='course_code'] .label")).to_have_text("講習")
    expect(crane.locator("li[data-claim='course_code'] .value")).to_have_text("小型移動式クレーン運転技能講習")
    expect(screen.locator(".present-item[data-query='course_tamakake']")).to_contain_text("玉掛け技能講習の修了証")
    assert "kogata-idoshiki-crane" not in screen.locator("#presentation").inner_text()
    assert_no_protocol_words(screen)
    assert_phone_layout(screen)
    screen.locator("#approve-presentation").click()
    result(gate, ok=False)
    expect(gate.locator("#result-reasons li")).to_have_text(["玉掛け技能講習の修了証がありません"])
    # The later refusal does not overwrite the entry already made today.
    expect(row).to_have_attribute("data-state", "in")
    assert_phone_layout(gate)

    # After a sync the roster has him, still as entered; header and layout as before.
    gate.locator("#result-setup").click()
    gate.locator("#sync").click()
    expect(gate.get_by_role("status")).to_have_text("同期しました（名簿 1人）。")
    expect(row).to_have_attribute("data-state", "in")
    expect(row.locator(".who")).to_have_text("山本 五郎")
    expect(gate.locator("#site-name")).to_have_text(SITE)
    expect(gate.locator("#operator")).to_have_text(STAFF)
    assert_phone_layout(gate)
    assert errors == []
