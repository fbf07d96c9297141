"""The site gate in real browsers against a real server process: the technician's web wallet in one
Chromium context and the gate page (``/gate/app``, the prime contractor's staff signed in) in another,
with the world made through the real ``genba`` CLI (site, tiers, assignment, record, employer) and the
certificates written into the server's database as the connectors would.

- Online (OpenID4VP 1.0): the gate creates a request, the wallet opens the link (``#vp=``), shows what
  will be revealed, the technician approves, the gate shows green with the name and photo.
- Offline (docs/offline-gate.md): the gate syncs, its network is cut, it shows a GC1 challenge; the
  challenge is read from the pixels of a screenshot of the gate page and pasted into the wallet, whose
  GP1 presentation QR code(s) are read by the gate's CAMERA: the gate's Chromium is started with a fake
  camera that plays a Motion-JPEG file made of screenshots of the wallet page. The gate verifies in the
  browser with no network, shows green, keeps the result across a reload, and uploads it once the
  network returns (one GateEvent row).
- Red screens: 玉掛け missing for crane work, a replayed presentation, a revoked credential (after a
  re-sync).
- The gate page's own verifier says no to what does not verify: a forged issuer signature or
  disclosure, a dropped disclosure, a KB-JWT of another key, audience or time, an untrusted root, a
  certificate that does not name the issuer, a stale status list.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, ViewportSize, expect
from sqlmodel import Session, col, select

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS
from tests.support.gate import KOGATA_CRANE, TAMAKAKE, GateWorld, QrReader, Staff, make_world, offer, write_mjpeg
from tests.support.server import LiveServer
from wallet.gate.models import GateEvent, GateRefusal

pytestmark = pytest.mark.e2e

#: The wallet's window: its screenshots are the fake camera's frames, so every one has this size.
PHONE: ViewportSize = {"width": 720, "height": 900}
TABLET: ViewportSize = {"width": 1180, "height": 860}
SILVER = "rgb(167, 173, 180)"  # 銀, level 3
#: Screenshots until every frame of an animated presentation QR code was seen (400 ms each).
MAX_SHOTS = 80


@pytest.fixture(scope="module")
def camera(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fake camera's file, first a blank frame of the wallet's size (Chromium reads its size at start)."""
    path = tmp_path_factory.mktemp("camera") / "camera.mjpeg"
    page = browser.new_page(viewport=PHONE)
    try:
        page.set_content("<body style='margin:0;background:#fff'></body>")
        (path.parent / "blank.jpg").write_bytes(page.screenshot(type="jpeg", quality=92))
    finally:
        page.close()
    blank_camera(path)
    return path


def blank_camera(camera: Path) -> None:
    write_mjpeg(camera, [(camera.parent / "blank.jpg").read_bytes()])


@pytest.fixture(scope="module")
def gate_browser(playwright_instance: Playwright, camera: Path) -> Iterator[Browser]:
    """A Chromium whose camera plays ``camera`` (read again each time the page starts the camera)."""
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={camera}",
    ]
    browser = playwright_instance.chromium.launch(executable_path=str(CHROMIUM), args=args, headless=True)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def gate(gate_browser: Browser, camera: Path, live_server: LiveServer) -> Iterator[BrowserContext]:
    blank_camera(camera)
    ctx = gate_browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", viewport=TABLET)
    ctx.grant_permissions(["camera"], origin=live_server.base_url)
    ctx.set_default_timeout(WAIT_MS)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def wallet(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", viewport=PHONE)
    ctx.set_default_timeout(WAIT_MS)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def reader(browser: Browser) -> Iterator[QrReader]:
    page = browser.new_page()
    try:
        yield QrReader(page)
    finally:
        page.close()


@pytest.fixture
def errors() -> list[str]:
    return []


def watch(page: Page, errors: list[str]) -> Page:
    """Collect CSP violations and uncaught errors of a page: none are expected."""

    def collect(message: ConsoleMessage) -> None:
        if message.type == "error" and ("Content Security Policy" in message.text or "Refused to" in message.text):
            errors.append(message.text)

    page.on("console", collect)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    return page


# -- steps -------------------------------------------------------------------------------------------------


def receive(page: Page, server: LiveServer, world: GateWorld, count: int) -> None:
    """The technician receives the card and the certificates into the wallet (OpenID4VCI, tx_code)."""
    offer_uri, tx_code = offer(server, world.technician_id)
    page.goto(server.url("/wallet/app#offer=" + quote(offer_uri, safe="")))
    page.locator("#tx-code").fill(tx_code)
    page.locator("#accept").click()
    expect(page.get_by_role("status")).to_have_text(f"{count}件の証明書を受け取りました。")


def sign_in_gate(page: Page, server: LiveServer, staff: Staff) -> None:
    page.goto(server.url("/gate/app"))
    expect(page.locator("#signin")).to_be_visible()
    page.locator("#signin-link").click()
    page.locator("input[name=username]").fill(staff.username)
    page.locator("input[name=password]").fill(staff.password)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(server.url("/login/otp"))
    page.locator("input[name=otp]").fill(pyotp.TOTP(staff.totp_secret).now())
    page.locator("form[action='/login/otp'] button[type=submit]").click()
    page.wait_for_url(server.url("/gate/app"))
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("#signin")).to_be_hidden()


def set_up_gate(page: Page, world: GateWorld, *, gate_id: str, kind: str, direction: str = "in") -> None:
    page.locator("#site").select_option(world.site_id)
    page.locator("#gate-id").fill(gate_id)
    page.locator("#gate-id").dispatch_event("change")
    page.locator(f"#work-kind input[value='{kind}']").check()
    page.locator(f"#direction input[value='{direction}']").check()


def sync(page: Page, roster: int = 1) -> None:
    page.locator("#sync").click()
    expect(page.get_by_role("status")).to_have_text(f"同期しました（名簿 {roster}人）。")
    expect(page.locator("#sync-state")).to_have_attribute("data-state", "ok")


def online_link(gate: Page) -> str:
    """The OpenID4VP link of the gate's online QR code (the server's QR code, shown as an image)."""
    expect(gate.locator("#check")).to_have_attribute("data-mode", "online")
    qr = gate.locator("#online-qr")
    expect(qr).to_have_attribute("data-link", re.compile(r"^openid4vp://\?client_id=x509_san_dns%3Alocalhost&"))
    assert qr.evaluate("img => img.complete && img.naturalWidth > 100")
    return qr.get_attribute("data-link") or ""


def read_challenge(gate: Page, reader: QrReader) -> str:
    """The GC1 challenge, from the pixels of a screenshot of the gate's challenge QR code."""
    expect(gate.locator("#challenge-qr")).to_be_visible()
    text = reader.read(gate.locator("#challenge-qr").screenshot())
    assert text and text.startswith("GC1:"), text
    return text


def show_presentation(wallet: Page, challenge: str) -> int:
    """Paste the challenge into the wallet, approve; the number of QR frames the wallet shows."""
    wallet.locator("#present-input").fill(challenge)
    wallet.locator("#present-submit").click()
    expect(wallet.locator("#presentation")).to_be_visible()
    wallet.locator("#approve-presentation").click()
    expect(wallet.locator("#presentation-qr-box")).to_be_visible()
    frames = wallet.locator("#presentation-qr").get_attribute("data-frames")
    assert frames and frames.isdigit(), frames
    return int(frames)


def film_presentation(wallet: Page, reader: QrReader, frames: int) -> list[bytes]:
    """Screenshots of the wallet until each frame of its (animated) QR code has been seen, read from the
    pixels: the camera's film, one JPEG per frame."""
    seen: dict[str, bytes] = {}
    for _ in range(MAX_SHOTS):
        shot = wallet.screenshot(type="jpeg", quality=92)
        match = re.match(r"^GP1(?:/(\d+)/\d+)?:", reader.read(shot, "image/jpeg") or "")
        if match:
            seen.setdefault(match.group(1) or "1", shot)
        if len(seen) == frames:
            return list(seen.values())
    raise AssertionError(f"only {sorted(seen)} of {frames} QR frames were seen")


def show_to_camera(gate: Page, camera: Path, film: list[bytes]) -> None:
    """The wallet's screen in front of the gate's camera: the camera restarts and plays the film.

    Each QR frame is held for 15 camera frames (half a second at the fake camera's 30 fps), as a
    phone shows an animated QR code: with a short hold, a scanner slowed by a loaded machine can
    sample the looping film in step with it and never see one of the frames (seen in CI: "2/3")."""
    write_mjpeg(camera, film, repeat=15)
    gate.locator("#switch-camera").click()


def result(gate: Page, ok: bool) -> None:
    expect(gate.locator("#result")).to_be_visible()
    expect(gate.locator("#result")).to_have_attribute("data-ok", "true" if ok else "false")


def events(server: LiveServer, site_id: str) -> list[GateEvent]:
    with server.database() as engine, Session(engine) as db:
        return list(db.exec(select(GateEvent).where(col(GateEvent.site_id) == site_id)).all())


def refusals(server: LiveServer, site_id: str) -> list[GateRefusal]:
    with server.database() as engine, Session(engine) as db:
        return list(db.exec(select(GateRefusal).where(col(GateRefusal.site_id) == site_id)).all())


# -- tests -------------------------------------------------------------------------------------------------


def test_online_presentation_shows_green_with_name_and_photo(
    gate: BrowserContext, wallet: BrowserContext, live_server: LiveServer, tmp_path: Path, errors: list[str]
) -> None:
    world = make_world(live_server, tmp_path, name="鈴木 一郎", kana="スズキ イチロウ")
    phone = watch(wallet.new_page(), errors)
    receive(phone, live_server, world, 3)
    tablet = watch(gate.new_page(), errors)
    sign_in_gate(tablet, live_server, world.staff)
    set_up_gate(tablet, world, gate_id="north", kind="crane")
    sync(tablet)

    tablet.locator("#start").click()
    link = online_link(tablet)

    phone.goto(live_server.url("/wallet/app#vp=" + quote(link, safe="")))
    panel = phone.locator("#presentation")
    expect(panel).to_be_visible()
    # who asks, in words (issue 15, item 7): the request object's client_metadata, not the host
    expect(phone.locator("#presentation-to")).to_have_text(
        "提示先: 新砂物流センター新築工事（元請: 株式会社 東京ゼネコン）"
    )
    card = panel.locator(".present-item[data-query='ccus_card']")
    expect(card.locator("li")).to_have_count(5)
    expect(card.locator("li[data-claim='name'] .value")).to_have_text("鈴木 一郎")
    expect(card.locator("li[data-claim='social_insurance'] .label")).to_have_text("社会保険加入状況")
    expect(panel.locator("li[data-claim='face_photo']")).to_have_count(0)  # never sent
    expect(panel.locator("li[data-claim='name_kana']")).to_have_count(0)  # not asked for
    tamakake = panel.locator(".present-item[data-query='course_tamakake']")
    expect(tamakake.locator("li[data-claim='course_code'] .value")).to_have_text("玉掛け技能講習")  # not its code
    # course code, name, completion date, holder name and 技能者ID (joins the certificate to the card: issue 12)
    expect(panel.locator(".present-item[data-query='course_kogata_idoshiki_crane'] li")).to_have_count(5)
    expect(
        panel.locator(".present-item[data-query='course_kogata_idoshiki_crane'] li[data-claim='technician_id']")
    ).to_have_count(1)
    phone.locator("#approve-presentation").click()
    expect(phone.get_by_role("status")).to_have_text("提示しました。ゲートの画面で結果を確認してください。")

    result(tablet, ok=True)
    expect(tablet.locator("#result-verdict")).to_have_text("入場OK")
    expect(tablet.locator("#result-name")).to_have_text("鈴木 一郎")
    expect(tablet.locator("#result-level")).to_have_text("レベル3（銀）")
    expect(tablet.locator("#result-level")).to_have_css("background-image", re.compile(re.escape(SILVER)))
    photo = tablet.locator("#result-photo")
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.complete && img.naturalWidth") == 48  # from the synced roster
    expect(tablet.locator("#result-reasons li")).to_have_count(0)
    expect(tablet.locator(f"#today-list li[data-technician='{world.technician_id}']")).to_have_attribute(
        "data-state", "in"
    )
    recorded = events(live_server, world.site_id)
    assert [(e.technician_id, e.direction, e.mode, e.gate_id) for e in recorded] == [
        (world.technician_id, "in", "online", "north")
    ], recorded
    assert errors == []


def test_offline_check_reads_the_wallet_with_the_camera_and_uploads_once(
    gate: BrowserContext,
    wallet: BrowserContext,
    live_server: LiveServer,
    camera: Path,
    reader: QrReader,
    tmp_path: Path,
    errors: list[str],
) -> None:
    world = make_world(live_server, tmp_path, name="高橋 健太", kana="タカハシ ケンタ")
    phone = watch(wallet.new_page(), errors)
    receive(phone, live_server, world, 3)
    tablet = watch(gate.new_page(), errors)
    sign_in_gate(tablet, live_server, world.staff)
    set_up_gate(tablet, world, gate_id="east", kind="crane")
    sync(tablet)
    tablet.wait_for_function("navigator.serviceWorker.controller !== null")

    gate.set_offline(True)
    expect(tablet.locator("#net-state")).to_have_attribute("data-online", "false")
    tablet.locator("#start").click()
    expect(tablet.locator("#check")).to_have_attribute("data-mode", "offline")
    expect(tablet.locator("#camera")).to_have_attribute("data-scanning", "true")
    challenge = read_challenge(tablet, reader)

    frames = show_presentation(phone, challenge)
    # the challenge names who asks (issue 15, item 7; docs/offline-gate.md §2), not the 現場ID
    expect(phone.locator("#presentation-to")).to_have_text(
        "提示先: 新砂物流センター新築工事（元請: 株式会社 東京ゼネコン）・ゲート east（クレーン作業）"
    )
    if frames > 1:  # an animated QR code: the frames in turn
        expect(phone.locator("#presentation-qr-frames")).to_contain_text(f"{frames}枚のQRコードを順に表示しています")
    show_to_camera(tablet, camera, film_presentation(phone, reader, frames))

    result(tablet, ok=True)
    expect(tablet.locator("#result-verdict")).to_have_text("入場OK")
    expect(tablet.locator("#result-name")).to_have_text("高橋 健太")
    expect(tablet.locator("#result-level")).to_have_text("レベル3（銀）")
    expect(tablet.locator("#result-photo")).to_be_visible()
    expect(tablet.locator("#queue-state")).to_have_attribute("data-pending", "1")
    assert events(live_server, world.site_id) == []

    # The queue survives a reload of the page, still with no network (the service worker serves it).
    tablet.reload()
    expect(tablet.locator("body")).to_have_attribute("data-ready", "true")
    expect(tablet.locator("#queue-state")).to_have_attribute("data-pending", "1")
    entry = tablet.locator(f"#today-list li[data-technician='{world.technician_id}']")
    expect(entry).to_have_attribute("data-state", "in")
    expect(entry).to_have_attribute("data-uploaded", "false")

    # The network returns: the queued result is uploaded, and recorded once.
    gate.set_offline(False)
    expect(tablet.locator("#queue-state")).to_have_attribute("data-pending", "0")
    expect(entry).to_have_attribute("data-uploaded", "true")
    recorded = events(live_server, world.site_id)
    assert [(e.technician_id, e.direction, e.mode, e.gate_id) for e in recorded] == [
        (world.technician_id, "in", "offline", "east")
    ], recorded
    tablet.reload()
    expect(tablet.locator("body")).to_have_attribute("data-ready", "true")
    expect(tablet.locator("#queue-state")).to_have_attribute("data-pending", "0")
    assert len(events(live_server, world.site_id)) == 1
    assert errors == []


def test_red_screens_missing_course_replay_and_revocation(
    gate: BrowserContext,
    wallet: BrowserContext,
    live_server: LiveServer,
    camera: Path,
    reader: QrReader,
    tmp_path: Path,
    errors: list[str],
) -> None:
    world = make_world(live_server, tmp_path, name="田中 次郎", kana="タナカ ジロウ", courses=(KOGATA_CRANE,))
    phone = watch(wallet.new_page(), errors)
    receive(phone, live_server, world, 2)
    tablet = watch(gate.new_page(), errors)
    sign_in_gate(tablet, live_server, world.staff)

    # Crane work without 玉掛け: the wallet says what is missing; the gate refuses, in plain Japanese.
    set_up_gate(tablet, world, gate_id="main", kind="crane")
    sync(tablet)
    tablet.locator("#start").click()
    link = online_link(tablet)
    phone.goto(live_server.url("/wallet/app#vp=" + quote(link, safe="")))
    expect(phone.locator(".present-item[data-query='course_tamakake']")).to_have_text(
        "玉掛け技能講習の修了証がありません（ゲートで確認できない場合があります）"
    )
    phone.locator("#approve-presentation").click()
    expect(phone.get_by_role("status")).to_have_text("提示しました。ゲートの画面で結果を確認してください。")
    result(tablet, ok=False)
    expect(tablet.locator("#result-verdict")).to_have_text("入場できません")
    expect(tablet.locator("#result-reasons li")).to_have_text(["玉掛け技能講習の修了証がありません"])
    expect(tablet.locator("#result-name")).to_have_text("田中 次郎")

    # General work offline: green; then the same presentation shown again to the next challenge is refused.
    tablet.locator("#result-setup").click()
    set_up_gate(tablet, world, gate_id="main", kind="general")
    tablet.locator("#offline-toggle").check()
    blank_camera(camera)
    tablet.locator("#start").click()
    expect(tablet.locator("#check")).to_have_attribute("data-mode", "offline")
    challenge = read_challenge(tablet, reader)
    frames = show_presentation(phone, challenge)
    show_to_camera(tablet, camera, film_presentation(phone, reader, frames))
    result(tablet, ok=True)
    expect(tablet.locator("#result-name")).to_have_text("田中 次郎")
    tablet.locator("#next").click()  # a new challenge; the camera still sees the old presentation
    result(tablet, ok=False)
    expect(tablet.locator("#result-reasons li")).to_have_text(["このゲートへの提示ではありません（再提示）"])

    # The operator revokes the technician's credentials; after a re-sync the gate shows 失効.
    phone.locator("#close-presentation").click()
    live_server.genba("credentials", "revoke", "--technician-id", world.technician_id, "--json")
    tablet.locator("#result-setup").click()
    sync(tablet)
    blank_camera(camera)
    tablet.locator("#start").click()
    challenge = read_challenge(tablet, reader)
    frames = show_presentation(phone, challenge)
    show_to_camera(tablet, camera, film_presentation(phone, reader, frames))
    result(tablet, ok=False)
    expect(tablet.locator("#result-reasons li")).to_have_text(["資格情報は失効しています"])
    expect(tablet.locator("#queue-state")).to_have_attribute("data-pending", "0")
    codes = sorted(r.reason_code for r in refusals(live_server, world.site_id))
    assert codes == ["invalid_kb_nonce", "missing_credential", "revoked"], codes
    assert len(events(live_server, world.site_id)) == 1  # the one green offline entry
    assert errors == []


#: In the wallet page: a presentation of the card (only the disclosures the general requirement names)
#: and one of a certificate, both with KB-JWTs for ``aud`` and ``nonce``, made by the wallet's own code.
_PRESENT = """async ({ aud, nonce }) => {
  const { db } = await import("/wallet/store.js");
  const { presentCredential } = await import("/wallet/present.js");
  const Genba = await import("/common/dcql.js");
  const records = await db.all();
  const card = records.find((r) => r.configurationId === "ccus_card");
  const certificate = records.find((r) => r.configurationId === "skill_training_certificate");
  const query = Genba.defaultDcql(card.payload.iss, "general").credentials[0];
  return {
    card: await presentCredential(card, Genba.revealedClaims(query), aud, nonce),
    certificate: await presentCredential(certificate, ["course_code"], aud, nonce),
  };
}"""
#: In the gate page: the gate's own verifier on a vp_token, against a freshly synced bundle.
_CHECK = """async ({ site, vp, nonce, aud, shiftMs, rootPem }) => {
  const GenbaVerify = await import("/gate/verify.js");
  const response = await fetch(`/gate/sync?site_id=${encodeURIComponent(site)}&gate_id=main`);
  const bundle = await response.json();
  if (rootPem) bundle.root_pem = rootPem;
  const dcql = bundle.requirements.general;
  const result = await GenbaVerify.check(vp, { dcql, nonce, aud, nowMs: Date.now() + shiftMs, bundle });
  return { ok: result.ok, codes: result.reasons.map((r) => r.code), ja: result.reasons.map((r) => r.ja) };
}"""
#: In the gate page: the certificate of the gate's own request-signing key (under the same root, naming a host).
_VERIFIER_CERTIFICATE = """async ({ site }) => {
  const Genba = await import("/common/jws.js");
  const created = await fetch("/gate/requests", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ site_id: site, gate_id: "main", work_kind: "general", direction: "in" }),
  });
  const link = new URL((await created.json()).link);
  const object = await (await fetch(new URL(link.searchParams.get("request_uri")).pathname)).text();
  return Genba.splitJws(object).header.x5c[0];
}"""
#: In the gate page: the status list of the card read 13 hours later (ttl 5 minutes + 12 hours of grace).
_STALE = """async ({ site, vp }) => {
  const Genba = await import("/common/jws.js");
  const GenbaVerify = await import("/gate/presentation.js");
  const response = await fetch(`/gate/sync?site_id=${encodeURIComponent(site)}&gate_id=main`);
  const bundle = await response.json();
  const payload = Genba.splitJws(vp.split("~")[0]).payload;
  const reference = payload.status.status_list;
  const token = bundle.status_lists[reference.uri];
  const signer = bundle.issuer_keys.find((k) => k.kid === Genba.splitJws(token).header.kid);
  const item = { statusUri: reference.uri, statusIndex: reference.idx };
  const now = await GenbaVerify.checkStatus(item, token, signer, Date.now());
  try {
    await GenbaVerify.checkStatus(item, token, signer, Date.now() + 13 * 3600 * 1000);
    return [now, "accepted"];
  } catch (error) {
    return [now, error.code, error.ja];
  }
}"""


def _foreign_root() -> str:
    """A root certificate of the same shape as the pinned one, which the gate does not trust."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Genba ID"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Genba ID Credential Root"),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _flip(text: str, at: int = -10) -> str:
    """Another base64url character at ``at`` (not the last, whose low bits may be padding)."""
    return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :]


def test_gate_verifier_in_the_browser_refuses_what_does_not_verify(
    gate: BrowserContext, wallet: BrowserContext, live_server: LiveServer, tmp_path: Path, errors: list[str]
) -> None:
    """The hand-written chain, signature, disclosure, key binding and status checks of the gate page say no:
    a green screen for a good presentation is only worth something if a bad one is red."""
    world = make_world(live_server, tmp_path, name="伊藤 三郎", kana="イトウ サブロウ", courses=(TAMAKAKE,))
    phone = watch(wallet.new_page(), errors)
    receive(phone, live_server, world, 2)
    tablet = watch(gate.new_page(), errors)
    sign_in_gate(tablet, live_server, world.staff)
    aud, nonce = f"genba-gate:{world.site_id}:main", "bm9uY2UtMTIzNDU2Nzg5MA"
    made = phone.evaluate(_PRESENT, {"aud": aud, "nonce": nonce})
    card, certificate = made["card"], made["certificate"]
    issuer_jwt, *disclosures, kb = card.split("~")

    def check(vp: str, *, shift_ms: int = 0, root: str | None = None, expected_aud: str = aud) -> dict[str, object]:
        args = {"site": world.site_id, "vp": {"ccus_card": [vp]}, "nonce": nonce, "aud": expected_aud}
        outcome: dict[str, object] = tablet.evaluate(_CHECK, {**args, "shiftMs": shift_ms, "rootPem": root})
        return outcome

    assert check(card) == {"ok": True, "codes": [], "ja": []}
    tampered = "資格情報が改ざんされているか形式が正しくありません"
    not_bound = "提示した本人の確認に失敗しました"
    forged_signature = "~".join([_flip(issuer_jwt), *disclosures, kb])
    assert check(forged_signature) == {"ok": False, "codes": ["invalid_signature"], "ja": [tampered]}
    named = next(d for d in disclosures if '"name"' in base64.urlsafe_b64decode(d + "==").decode())
    renamed = base64.urlsafe_b64encode(
        base64.urlsafe_b64decode(named + "==").decode().replace("伊藤 三郎", "山田 花子").encode()
    ).rstrip(b"=")
    forged_name = card.replace(named, renamed.decode())
    assert check(forged_name) == {"ok": False, "codes": ["unreferenced_disclosure"], "ja": [tampered]}
    fewer = "~".join([issuer_jwt, *disclosures[1:], kb])  # a disclosure dropped after the KB-JWT was signed
    assert check(fewer)["codes"] == ["invalid_kb_sd_hash"]
    other_key = "~".join([issuer_jwt, *disclosures, certificate.split("~")[-1]])  # KB-JWT of another key
    assert check(other_key) == {"ok": False, "codes": ["invalid_kb"], "ja": [not_bound]}
    assert check(card, expected_aud=aud + "x")["codes"] == ["invalid_kb_aud"]
    assert check(card, shift_ms=120_000)["codes"] == ["invalid_kb_iat"]
    untrusted = check(card, root=_foreign_root())
    assert untrusted == {"ok": False, "codes": ["untrusted_issuer"], "ja": ["信頼できない発行者です"]}, untrusted
    assert check(certificate)["codes"] == ["requirement_not_met"]  # a certificate is not the card
    # The gate's request-signing certificate chains to the same root but certifies a host, not the issuer.
    header = json.loads(base64.urlsafe_b64decode(issuer_jwt.split(".")[0] + "=="))
    header["x5c"] = [tablet.evaluate(_VERIFIER_CERTIFICATE, {"site": world.site_id})]
    swapped = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    other_issuer = "~".join([".".join([swapped, *issuer_jwt.split(".")[1:]]), *disclosures, kb])
    assert check(other_issuer)["codes"] == ["untrusted_issuer"]
    stale = tablet.evaluate(_STALE, {"site": world.site_id, "vp": card})
    assert stale == [0, "status_list_stale", "失効情報が古いため確認できません（同期してください）"], stale
    assert errors == []
