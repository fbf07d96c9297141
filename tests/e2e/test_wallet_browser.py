"""The web wallet (現場IDウォレット, ``/wallet/app``) in a real browser against a real server process.

A technician made with the real CLI (record level 3 with occupations, an employer through
``genba admin link-affiliation``, a face photo, and two imported certificates written into the
server's database as the connectors would) signs in with password and TOTP, opens 「ウォレットに追加」,
creates an offer and follows the link into the wallet, types the tx_code and receives: OpenID4VCI
1.0 pre-authorized code flow, one fresh non-extractable WebCrypto P-256 key per credential. The wallet
shows the CCUS card in its level colour and the certificates, reads their status from the IETF
Token Status List (2-bit entries, DEFLATE) as the operator suspends and revokes them with the real
``genba credentials`` CLI, and deletes a credential, telling the issuer through the notification
endpoint (``credential_deleted``). A second test covers the English switch, a wrong tx_code, and
opening the wallet offline from its service worker's cache.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import ConsoleMessage, Dialog, Page, expect
from sqlmodel import Session, col, select

from tests.e2e.conftest import Technician
from tests.support.certificates import add_imported
from tests.support.server import LiveServer
from wallet.models import IssuedCredential

pytestmark = pytest.mark.e2e

CARD_VCT = "/vct/ccus-technician-card"
CERT_VCT = "/vct/skill-training-certificate"
SILVER = "rgb(167, 173, 180)"  # #a7adb4, the 銀 of level 3 (wallet.credentials.LEVEL_COLOURS)
GOLD = "rgb(201, 162, 39)"  # #c9a227, 金 (level 4)

#: The two certificates the technician has imported: kind, course code and name, training body, completed on.
CERTIFICATES = [
    ("技能講習", "TC-101", "玉掛け技能講習", "東京技能講習センター", date(2021, 5, 10)),
    ("特別教育", "SE-202", "フルハーネス型墜落制止用器具特別教育", "関東安全教育協会", date(2022, 11, 3)),
]
#: ... and their completion dates as the Japanese wallet shows them.
SHOWN_DATES = ["2021年5月10日", "2022年11月3日"]


def _png(width: int = 6, height: int = 8) -> bytes:
    """A tiny valid PNG (the CLI only accepts JPEG or PNG face photos)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes((200, 120, 40)) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.fixture
def console_errors(page: Page) -> Iterator[list[str]]:
    """Content-Security-Policy violations the pages report, and uncaught script errors: none are expected.
    (Failed requests are logged too — a wrong tx_code is a 400 — and are not collected.)"""
    errors: list[str] = []

    def collect(message: ConsoleMessage) -> None:
        if message.type == "error" and ("Content Security Policy" in message.text or "Refused to" in message.text):
            errors.append(message.text)

    page.on("console", collect)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    yield errors


def _employer_id(technician: Technician) -> str:
    return "4" + technician.technician_id[1:]


def _add_certificates(server: LiveServer, technician: Technician) -> list[str]:
    """Imported certificates as the connectors store them (verified, status valid); their refs."""
    now = datetime.now(UTC)
    refs = []
    with server.database() as engine, Session(engine) as db:
        for kind, code, course, body, completed in CERTIFICATES:
            issuer_id, number = f"e2e-body-{technician.technician_id}", f"第{code}-{technician.technician_id[-4:]}号"
            add_imported(
                db,
                technician_id=technician.technician_id,
                issuer_id=issuer_id,
                number=number,
                course_code=code,
                course_name=course,
                training_body=body,
                completed_on=completed,
                holder_name=technician.name,
                holder_birth_date=date(1985, 4, 12),
                now=now,
                course_kind=kind,
                signer_kid="e2e-key",
                source="signed_file",
            )
            refs.append(f"{issuer_id}/{number}")
        db.commit()
    return refs


def _issued(server: LiveServer, technician_id: str) -> list[IssuedCredential]:
    with server.database() as engine, Session(engine) as db:
        stmt = select(IssuedCredential).where(col(IssuedCredential.technician_id) == technician_id)
        return list(db.exec(stmt.order_by(col(IssuedCredential.issued_at))).all())


def _sign_in(page: Page, server: LiveServer, person: Technician) -> None:
    page.goto(server.url("/login"))
    page.locator("input[name=username]").fill(person.technician_id)
    page.locator("input[name=password]").fill(person.password)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(server.url("/login/otp"))
    page.locator("input[name=otp]").fill(pyotp.TOTP(person.totp_secret).now())
    page.locator("form[action='/login/otp'] button[type=submit]").click()
    page.wait_for_url(server.url("/account"))


def _open_offer_in_wallet(page: Page, server: LiveServer) -> str:
    """「ウォレットに追加」: create the offer, read the tx_code, follow the link into the wallet."""
    page.goto(server.url("/wallet/add"))
    page.locator("#create-offer").click()
    expect(page.locator("#tx-code")).to_have_text(re.compile(r"^\d{6}$"))
    tx_code = page.locator("#tx-code").inner_text()
    expect(page.locator("#open-wallet")).to_have_attribute("href", re.compile(r"^/wallet/app#offer=http"))
    with page.expect_response(lambda r: r.url == server.url("/wallet/app")) as opened:
        page.locator("#open-wallet").click()
    csp = opened.value.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp, csp
    # The wallet drops the single-use offer from the address once it has read it.
    page.wait_for_url(server.url("/wallet/app"))
    expect(page.locator("#offer")).to_be_visible()
    return tx_code


def _stored_keys(page: Page) -> list[dict[str, Any]]:
    """What IndexedDB holds of each credential's key (the CryptoKey itself, structured-cloned)."""
    result: list[dict[str, Any]] = page.evaluate(
        """() => new Promise((resolve, reject) => {
            const open = indexedDB.open("genba-wallet");
            open.onerror = () => reject(open.error);
            open.onsuccess = () => {
              const all = open.result.transaction("credentials").objectStore("credentials").getAll();
              all.onerror = () => reject(all.error);
              all.onsuccess = () => resolve(all.result.map((r) => ({
                configuration: r.configurationId,
                keyType: Object.prototype.toString.call(r.privateKey),
                extractable: r.privateKey.extractable,
                usages: r.privateKey.usages,
                curve: r.privateKey.algorithm.namedCurve,
                x: r.publicJwk.x,
                notificationId: r.notificationId,
              })));
            };
          })"""
    )
    return result


def test_receive_show_status_and_delete_in_japanese(
    page: Page,
    live_server: LiveServer,
    make_technician: Callable[..., Technician],
    tmp_path: Path,
    console_errors: list[str],
) -> None:
    photo = tmp_path / "face.png"
    photo.write_bytes(_png())
    person = make_technician(name="山田 太郎", kana="ヤマダ タロウ", face_photo=photo)
    live_server.set_record(technician_id=person.technician_id, values={"level": 3, "occupations": ["とび", "鉄筋"]})
    employer_id = _employer_id(person)
    live_server.create_employer(employer_id=employer_id, trade_name="山田建設株式会社")
    live_server.link_affiliation(technician_id=person.technician_id, employer_id=employer_id, start="2020-04-01")
    cert_refs = _add_certificates(live_server, person)

    _sign_in(page, live_server, person)
    tx_code = _open_offer_in_wallet(page, live_server)

    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("#offer-items li")).to_have_text(["建設キャリアアップカード", "技能講習・特別教育修了証"])
    expect(page.locator("#tx-code")).to_have_attribute("inputmode", "numeric")
    page.locator("#tx-code").fill(tx_code)
    page.locator("#accept").click()

    # One card and one credential per imported certificate (credential_identifiers of the token).
    expect(page.get_by_role("status")).to_have_text("3件の証明書を受け取りました。")
    expect(page.locator("article.credential")).to_have_count(3)
    card = page.locator(f"article.credential[data-vct$='{CARD_VCT}']")
    expect(card).to_have_attribute("data-level", "3")
    expect(card).to_have_attribute("data-status", "valid")
    expect(card.locator(".status-label")).to_have_text("有効")
    expect(card.locator(".type-name")).to_have_text("建設キャリアアップカード")
    expect(card.locator(".headline")).to_have_text("山田 太郎")
    expect(card.locator("dd.claim-technician_id")).to_have_text(person.technician_id)
    expect(card.locator("dd.claim-level")).to_have_text("レベル3（銀）")
    expect(card.locator("dd.claim-occupations")).to_have_text("とび、鉄筋")
    expect(card.locator("dd.claim-employer")).to_have_text("山田建設株式会社")
    expect(card).to_have_css("background-image", re.compile(r"linear-gradient.*" + re.escape(SILVER)))
    face = card.locator("img.face")
    expect(face).to_be_visible()
    assert face.evaluate("img => img.complete && img.naturalWidth") == 6  # the data: URL decoded under the CSP

    certificates = page.locator(f"article.credential[data-vct$='{CERT_VCT}']")
    expect(certificates).to_have_count(2)
    for (kind, _, course, body, _), shown_date in zip(CERTIFICATES, SHOWN_DATES, strict=True):
        cert = certificates.filter(has_text=course)
        expect(cert.locator(".headline")).to_have_text(course)
        expect(cert.locator("dd.claim-completed_on")).to_have_text(shown_date)
        expect(cert.locator("dd.claim-training_body")).to_have_text(body)
        expect(cert.locator("dd.claim-course_kind")).to_have_text(kind)
        expect(cert).to_have_attribute("data-status", "valid")

    # What a presentation could reveal, with the labels of the type metadata.
    card.locator("details.fields summary").click()
    fields = card.locator("details.fields li")
    expect(fields.locator(".label")).to_contain_text(["技能者ID", "氏名", "フリガナ", "レベル", "職種", "所属事業者"])
    expect(card.locator("details.fields li[data-claim='social_insurance'] .label")).to_have_text("社会保険加入状況")
    expect(card.locator("details.fields li[data-claim='name_kana'] .value")).to_have_text("ヤマダ タロウ")

    # Each credential is bound to its own non-extractable P-256 key, kept in IndexedDB.
    keys = _stored_keys(page)
    assert len(keys) == 3, keys
    assert all(k["keyType"] == "[object CryptoKey]" and k["extractable"] is False for k in keys), keys
    assert all(k["usages"] == ["sign"] and k["curve"] == "P-256" for k in keys), keys
    assert len({k["x"] for k in keys}) == 3, keys
    issued = _issued(live_server, person.technician_id)
    assert len(issued) == 3 and len({row.holder_jkt for row in issued}) == 3, issued
    assert sorted(row.subject_ref or "" for row in issued) == sorted([*cert_refs, employer_id]), issued
    assert all(row.notified == "credential_accepted" for row in issued), issued

    # Delete one certificate: gone from the page and from IndexedDB, and the issuer was told.
    deleted_course, deleted_ref = CERTIFICATES[1][2], cert_refs[1]
    dialogs: list[str] = []

    def accept(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    certificates.filter(has_text=deleted_course).locator("button.delete").click()
    expect(page.get_by_role("status")).to_have_text(f"「{deleted_course}」を削除しました。")
    assert len(dialogs) == 1 and deleted_course in dialogs[0], dialogs
    expect(page.locator("article.credential")).to_have_count(2)
    expect(certificates.filter(has_text=deleted_course)).to_have_count(0)
    rows = {row.subject_ref: row for row in _issued(live_server, person.technician_id)}
    assert rows[deleted_ref].notified == "credential_deleted", rows[deleted_ref]
    assert rows[cert_refs[0]].notified == rows[employer_id].notified == "credential_accepted", rows
    page.reload()
    expect(page.locator("article.credential")).to_have_count(2)
    assert len(_stored_keys(page)) == 2

    # The operator suspends the remaining certificate: 状態を更新 reads the status list again.
    kept = certificates.filter(has_text=CERTIFICATES[0][2])
    suspended = json.loads(live_server.genba("credentials", "suspend", "--id", rows[cert_refs[0]].id, "--json").stdout)
    assert suspended["updated"] == 1, suspended
    page.locator("#refresh").click()
    expect(kept).to_have_attribute("data-status", "suspended")
    expect(kept.locator(".status-label")).to_have_text("一時停止")
    expect(card).to_have_attribute("data-status", "valid")

    # Then revokes everything the technician holds: on the next opening, every card is 失効.
    revoked = json.loads(
        live_server.genba("credentials", "revoke", "--technician-id", person.technician_id, "--json").stdout
    )
    assert revoked["updated"] == 3, revoked
    page.reload()
    expect(page.locator("article.credential[data-status='revoked']")).to_have_count(2)
    expect(page.locator("article.credential .status-label")).to_have_text(["失効", "失効"])
    expect(card).to_have_attribute("data-level", "3")
    assert console_errors == []


def test_wrong_tx_code_english_switch_and_offline_opening(
    page: Page,
    live_server: LiveServer,
    make_technician: Callable[..., Technician],
    console_errors: list[str],
) -> None:
    """A card without employer or certificates (an empty credential_identifiers list is not requested);
    the language choice survives a reload; the service worker opens the wallet with no network."""
    person = make_technician(name="佐々木 花", kana="ササキ ハナ", gender="female")
    live_server.set_record(technician_id=person.technician_id, values={"level": 4, "occupations": ["型枠"]})

    _sign_in(page, live_server, person)
    tx_code = _open_offer_in_wallet(page, live_server)

    wrong = f"{(int(tx_code) + 1) % 1_000_000:06d}"
    page.locator("#tx-code").fill(wrong)
    page.locator("#accept").click()
    expect(page.get_by_role("alert")).to_have_text("確認番号が正しくないか、受け取り用リンクの期限が切れています。")
    expect(page.locator("article.credential")).to_have_count(0)
    page.locator("#tx-code").fill(tx_code)
    page.locator("#accept").click()
    expect(page.get_by_role("status")).to_have_text("1件の証明書を受け取りました。")
    card = page.locator("article.credential")
    expect(card).to_have_count(1)
    expect(card).to_have_attribute("data-level", "4")
    expect(card).to_have_css("background-image", re.compile(r"linear-gradient.*" + re.escape(GOLD)))
    expect(card.locator("dd.claim-level")).to_have_text("レベル4（金）")
    expect(card.locator("dd.claim-employer")).to_have_text("なし")
    expect(page.get_by_role("alert")).to_be_hidden()

    page.locator("#lang").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("My credentials")
    expect(card.locator(".type-name")).to_have_text("CCUS technician card")
    expect(card.locator("dd.claim-level")).to_have_text("Level 4 (gold)")
    expect(card.locator(".status-label")).to_have_text("Valid")
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#lang")).to_have_text("日本語")
    expect(card.locator(".status-label")).to_have_text("Valid")
    expect(page.locator("#checked")).to_contain_text("Status checked")

    # Installable: the manifest the page links to.
    manifest = page.evaluate(
        "async () => (await fetch(document.querySelector('link[rel=manifest]').href, {cache: 'no-store'})).json()"
    )
    assert manifest["name"] == "現場IDウォレット" and manifest["start_url"] == "/wallet/app", manifest
    assert manifest["display"] == "standalone" and manifest["theme_color"], manifest
    worker = page.request.get(live_server.url("/wallet/sw.js"))
    assert worker.headers["service-worker-allowed"] == "/wallet/", worker.headers
    assert worker.headers["content-type"].startswith("text/javascript"), worker.headers

    # The service worker controls the page; with the network gone the wallet still opens, from its cache.
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.context.set_offline(True)
    try:
        page.reload()
        expect(page.locator("h1")).to_have_text("My credentials")
        expect(card).to_have_attribute("data-level", "4")
        expect(page.locator("#checked")).to_contain_text("Could not check the status")
        page.locator("#lang").click()
        expect(page.locator("h1")).to_have_text("わたしの証明書")
        expect(card.locator(".status-label")).to_have_text("有効")
    finally:
        page.context.set_offline(False)

    # Deleting when the issuer no longer accepts the access token (here: spoilt in IndexedDB, so the
    # notification endpoint answers 401): the credential is still deleted here, with a note.
    page.evaluate(
        """() => new Promise((resolve, reject) => {
            const open = indexedDB.open("genba-wallet");
            open.onsuccess = () => {
              const tx = open.result.transaction("credentials", "readwrite");
              const store = tx.objectStore("credentials");
              store.getAll().onsuccess = (event) => {
                for (const record of event.target.result) store.put({ ...record, accessToken: "no-longer-valid" });
              };
              tx.oncomplete = () => resolve(true);
              tx.onerror = () => reject(tx.error);
            };
          })"""
    )
    page.once("dialog", lambda dialog: dialog.accept())
    card.locator("button.delete").click()
    expect(page.get_by_role("status")).to_contain_text("発行元への通知はできませんでした")
    expect(page.locator("article.credential")).to_have_count(0)
    expect(page.locator("#empty")).to_be_visible()
    assert [row.notified for row in _issued(live_server, person.technician_id)] == ["credential_accepted"]
    assert console_errors == []
