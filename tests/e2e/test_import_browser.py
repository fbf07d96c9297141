"""「マイナポータルから資格を取り込む」 in a real browser (issue 5, item 3: the technician-started
import; item 4: what is not imported is shown with its reason), in Japanese.

Two real processes: the reference source (``python -m tools.reference_source --fd N``) on
``http://127.0.0.1:<port>`` — another site than Genba ID, as the real source is — and Genba ID on
``http://localhost:<port>``, configured with ``GENBA_MYNAPORTAL_URL`` and the client secret from the
source's data directory. The trust list is loaded with the real ``genba trust import-source`` and
鈴木 一郎 is created with the real ``genba admin create-technician``. Chromium signs in with password
and TOTP, starts the import, signs in at the source (login + PIN in place of a My Number card),
approves, and reads the result page and then 保有資格.

Each test has its own Genba ID (the records name 技能者ID 10000000000019, so only one technician
per database can import them). The second test serves the source's pages with the referrer policy
its first test shows it needs, so that the rest of the flow is checked in a browser today.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, Route, expect

from tests.support.server import LiveServer, SourceServer, running_source, start_server, stop_server

pytestmark = pytest.mark.e2e

TECHNICIAN_ID = "10000000000019"
#: 鈴木 一郎's good records at the source: certificate number -> course.
IMPORTED = {
    "第13-0412号": "玉掛け技能講習",
    "第27-1185号": "小型移動式クレーン運転技能講習",
    "第14-2203号": "車両系建設機械(整地・運搬・積込み用及び掘削用)運転技能講習",
    "第11-5078号": "フルハーネス型墜落制止用器具特別教育",
    "第21-0736号": "ガス溶接技能講習",
    "第11-3391号": "足場の組立て等作業主任者技能講習",
    "第11-2046号": "小型車両系建設機械特別教育",  # reissued as 第11-6120号
    "第11-6120号": "小型車両系建設機械特別教育",
}
#: The bad ones: reason code -> (course shown, if the record could be read, and the Japanese reason).
REJECTED = {
    "bad_signature": (None, "署名が正しくありません（改ざんの可能性）"),
    "unknown_signer": (None, "信頼リストにない機関の署名です"),
    "identity_mismatch": ("不整地運搬車運転技能講習", "本人の記録ではありません（氏名・生年月日が一致しません）"),
    "signer_key_not_valid": ("フォークリフト運転技能講習", "署名鍵が発行時点で有効ではありません"),
    "revoked": ("高所作業車運転技能講習", "この修了証は取り消されています"),
}


@dataclass(frozen=True)
class Technician:
    technician_id: str
    password: str
    totp_secret: str


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SourceServer]:
    with running_source(tmp_path_factory.mktemp("import-source") / "data") as server:
        yield server


@pytest.fixture
def live_server(tmp_path: Path, source: SourceServer) -> Iterator[LiveServer]:
    """This test's own Genba ID, connected to the source (same name as the session fixture, so a
    failure report carries its log)."""
    settings = {
        "GENBA_MYNAPORTAL_URL": source.base_url,
        "GENBA_MYNAPORTAL_CLIENT_SECRET": source.client_secret,
        "GENBA_OUTBOUND_ALLOW_PRIVATE": "true",  # the source listens on 127.0.0.1 (issue 12 hole 6)
    }
    server = start_server(tmp_path / "genba", extra_env=settings)
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture
def suzuki(live_server: LiveServer, source: SourceServer) -> Technician:
    """The source's bodies trusted and 鈴木 一郎 created, both through the real CLI."""
    added = json.loads(live_server.genba("trust", "import-source", source.base_url, "--json").stdout)
    assert len(added) == 6, added
    data = live_server.create_technician(
        technician_id=TECHNICIAN_ID, name="鈴木 一郎", kana="スズキ イチロウ", birth_date="1985-04-12"
    )
    return Technician(TECHNICIAN_ID, data["password"], data["totp_secret"])


def sign_in(page: Page, server: LiveServer, person: Technician) -> None:
    page.goto(server.url("/login"))
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    page.locator("input[name=username]").fill(person.technician_id)
    page.locator("input[name=password]").fill(person.password)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(server.url("/login/otp"))
    page.locator("input[name=otp]").fill(pyotp.TOTP(person.totp_secret).now())
    page.locator("form[action='/login/otp'] button[type=submit]").click()
    page.wait_for_url(server.url("/account"))


def import_in_browser(page: Page, server: LiveServer, source: SourceServer, person: Technician) -> None:
    """保有資格 → 「マイナポータルから資格を取り込む」 → sign in and approve at the source → the result page."""
    sign_in(page, server, person)
    page.goto(server.url("/certificates"))
    expect(page.locator("h1")).to_have_text("保有資格（講習修了証）")
    expect(page.locator("#certificates li")).to_have_text(["ありません"])

    page.locator("#import-mynaportal").click()

    page.wait_for_url(re.compile(re.escape(source.url("/authorize?")) + ".*"))
    page.reload()  # a fresh navigation: a redirect's target is not routed (see the second test)
    expect(page.locator("h1")).to_have_text("本人確認")
    page.locator("#login").fill("suzuki")
    page.locator("#pin").fill("1234")
    with page.expect_response(source.url("/authorize/login")) as signed_in:
        page.locator("form[action='/authorize/login'] button[type=submit]").click()
    assert signed_in.value.status == 303, f"the source refused the sign-in form:\n{page.locator('main').inner_text()}"
    page.wait_for_url(source.url("/authorize/consent"))
    page.reload()
    expect(page.locator("h1")).to_have_text("情報提供の確認")
    expect(page.locator("main")).to_contain_text("鈴木 一郎 様")
    expect(page.locator("main li")).to_have_count(13)
    with page.expect_response(source.url("/authorize/consent")) as decided:
        page.locator("button[name=decision][value=approve]").click()
    assert decided.value.status == 303, f"the source refused the consent form:\n{page.locator('main').inner_text()}"

    page.wait_for_url(re.compile(re.escape(server.url("/certificates/import/callback?")) + ".*"))


def check_result_and_certificates(page: Page, server: LiveServer) -> None:
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("h1")).to_have_text("取り込み結果")
    expect(page.locator("#imported li")).to_have_count(len(IMPORTED))
    for number, course in IMPORTED.items():
        expect(page.locator(f"#imported li[data-number='{number}']")).to_have_text(f"{course} · {number}")
    expect(page.locator("#rejected li")).to_have_count(len(REJECTED))
    for code, (shown, reason) in REJECTED.items():
        item = page.locator(f"#rejected li[data-code='{code}']")
        expect(item.locator(".error")).to_have_text(reason)
        if shown is not None:
            expect(item).to_contain_text(shown)
    expect(page.locator("main")).to_contain_text("取り込んだ資格 (8)")
    expect(page.locator("main")).to_contain_text("取り込まなかった記録 (5)")

    page.get_by_role("link", name="保有資格へ戻る").click()
    page.wait_for_url(server.url("/certificates"))
    expect(page.locator("#certificates li")).to_have_count(len(IMPORTED))
    for number, course in IMPORTED.items():
        expect(page.locator(f"#certificates li[data-number='{number}'] strong")).to_have_text(course)
    old = page.locator("#certificates li[data-number='第11-2046号']")
    expect(old).to_have_attribute("data-status", "superseded")
    expect(old.locator(".error")).to_have_text("再交付済み（旧）")
    expect(page.locator("#certificates li[data-status='valid']")).to_have_count(len(IMPORTED) - 1)
    expect(page.locator("#certificates li[data-number='第13-0412号']")).to_contain_text(
        "一般社団法人 東京建設技能教育センター · 2012-06-15 · 第13-0412号"
    )


def test_technician_imports_certificates_from_the_source_in_a_browser(
    page: Page, live_server: LiveServer, source: SourceServer, suzuki: Technician
) -> None:
    """Issue 5, item 3: from 保有資格, 「マイナポータルから資格を取り込む」 sends the technician to the
    source, where they prove who they are and consent; back in Genba ID the result page lists the
    imported courses and each record that was not imported with its reason in Japanese (item 4);
    保有資格 then shows the certificates, the reissued one marked as replaced."""
    import_in_browser(page, live_server, source, suzuki)

    check_result_and_certificates(page, live_server)


def test_technician_imports_certificates_with_the_sources_pages_served_same_origin(
    page: Page, live_server: LiveServer, source: SourceServer, suzuki: Technician
) -> None:
    """Issue 5, items 3 and 4, as in the test above, with the source's HTML pages delivered to the
    browser with ``Referrer-Policy: same-origin`` (the fix that test asks for, applied in flight by
    Playwright): Chromium then sends the source's own Origin with its forms, and the whole flow —
    Genba ID's redirect with PKCE and state, the source's sign-in and consent, the callback, the
    verification and the pages — runs in the browser."""

    def same_origin_referrer(route: Route) -> None:
        if route.request.method == "GET" and route.request.resource_type == "document":
            response = route.fetch()
            route.fulfill(response=response, headers={**response.headers, "referrer-policy": "same-origin"})
        else:
            route.continue_()

    page.route(source.base_url + "/**", same_origin_referrer)

    import_in_browser(page, live_server, source, suzuki)

    check_result_and_certificates(page, live_server)
