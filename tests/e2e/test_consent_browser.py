"""Two-party consent over OAuth in a real browser (issue 4, acceptance test): an OAuth client asks for
qualifications (RFC 9396 authorization details); the technician approves; the employer approves; the
client reads exactly those fields; the employer revokes; the client's next read is refused.

This module runs its own server (it overrides the session's ``live_server``): the employers, the
technician, the employer administrator, the record details and the client are all created with the
real ``genba admin`` CLI. The relying party is plain httpx in this process (PKCE S256, client secret
over HTTP Basic); its redirect URI is on a loopback port nothing listens on, and the browser's
request to it is caught with ``page.route`` — that request carries the authorization code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Route, expect

from tests.support.browser import WAIT_MS
from tests.support.server import LiveServer, start_server, stop_server, unused_loopback_port

pytestmark = pytest.mark.e2e

EMPLOYER = "31000000000018"  # E: the technician's employer
OWNER = "42000000000017"  # O: the company that owns the client
TECHNICIAN = "30000000000901"
QUALIFICATIONS = [{"name": "玉掛け技能講習"}]
PURPOSE = "入退場管理のための資格確認"
API_ME = "/api/v1/technicians/me"
HTTP_TIMEOUT = 30.0


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    totp_secret: str


@dataclass(frozen=True)
class World:
    technician: Account
    technician_name: str
    employer_admin: Account
    client_id: str
    client_secret: str
    client_name: str
    redirect_uri: str


@pytest.fixture(scope="module")
def redirect_port() -> Iterator[int]:
    with unused_loopback_port() as port:
        yield port


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """This module's own server (same name as the session fixture, so a failure report carries its log)."""
    server = start_server(tmp_path_factory.mktemp("consent-server"))
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture(scope="module")
def world(live_server: LiveServer, redirect_port: int) -> World:
    """Everything through the real CLI: two employers, a technician of E with record details, E's
    administrator with TOTP, and a confidential client owned by O."""
    server = live_server
    server.create_employer(employer_id=EMPLOYER, trade_name="株式会社 山田工務店")
    server.create_employer(employer_id=OWNER, trade_name="勤怠ソフト株式会社", address="大阪府大阪市北区1-1")
    name = "鈴木 一郎"
    tech = server.create_technician(technician_id=TECHNICIAN, name=name, kana="スズキ イチロウ")
    linked = server.link_affiliation(technician_id=TECHNICIAN, employer_id=EMPLOYER, start="2020-04-01")
    assert linked == {"technician_id": TECHNICIAN, "employer_id": EMPLOYER, "start_date": "2020-04-01"}, linked
    record = server.set_record(technician_id=TECHNICIAN, values={"qualifications": QUALIFICATIONS, "level": 2})
    assert record["updated"] == ["level", "qualifications"], record
    staff = server.create_staff(employer_id=EMPLOYER, login="admin", display_name="山田 花子", role="admin")
    assert staff["role"] == "admin" and staff["username"].startswith(EMPLOYER), staff
    redirect_uri = f"http://127.0.0.1:{redirect_port}/callback"
    client_name = "勤怠管理システム"
    client = server.create_client(name=client_name, redirect_uris=[redirect_uri], owner_employer_id=OWNER)
    assert client["client_type"] == "confidential" and client["token_endpoint_auth_method"] == "client_secret_basic"
    return World(
        technician=Account(tech["username"], tech["password"], tech["totp_secret"]),
        technician_name=name,
        employer_admin=Account(staff["username"], staff["password"], staff["totp_secret"]),
        client_id=client["client_id"],
        client_secret=client["client_secret"],
        client_name=client_name,
        redirect_uri=redirect_uri,
    )


# -- the relying party (httpx, in this process) -------------------------------------------------


@dataclass
class RelyingParty:
    server: LiveServer
    world: World
    http: httpx.Client

    @property
    def auth(self) -> tuple[str, str]:
        return self.world.client_id, self.world.client_secret

    def authorization_url(self, details: list[dict[str, Any]]) -> tuple[str, str, str]:
        """The URL, the PKCE verifier (S256) and the state."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        state = secrets.token_urlsafe(12)
        query = {
            "response_type": "code",
            "client_id": self.world.client_id,
            "redirect_uri": self.world.redirect_uri,
            "scope": "openid",
            "state": state,
            "nonce": secrets.token_urlsafe(12),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "authorization_details": json.dumps(details, ensure_ascii=False),
        }
        return self.server.url("/authorize?" + urlencode(query)), verifier, state

    def exchange(self, code: str, verifier: str) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.world.redirect_uri,
            "code_verifier": verifier,
        }
        response = self.http.post("/token", data=form, auth=self.auth)
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        tokens: dict[str, Any] = response.json()
        return tokens

    def read_me(self, access_token: str) -> httpx.Response:
        return self.http.get(API_ME, headers={"Authorization": f"Bearer {access_token}"})

    def introspect(self, token: str) -> dict[str, Any]:
        response = self.http.post("/introspect", data={"token": token}, auth=self.auth)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def rp(live_server: LiveServer, world: World) -> Iterator[RelyingParty]:
    with httpx.Client(base_url=live_server.base_url, timeout=HTTP_TIMEOUT) as http:
        yield RelyingParty(live_server, world, http)


# -- the browser --------------------------------------------------------------------------------


def _new_context(browser: Browser) -> BrowserContext:
    ctx = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    ctx.set_default_timeout(WAIT_MS)
    ctx.set_default_navigation_timeout(WAIT_MS)
    return ctx


@pytest.fixture
def technician_page(browser: Browser) -> Iterator[Page]:
    ctx = _new_context(browser)
    try:
        yield ctx.new_page()
    finally:
        ctx.close()


@pytest.fixture
def employer_page(browser: Browser) -> Iterator[Page]:
    """A second browser context: the employer administrator's own cookies, nothing shared."""
    ctx = _new_context(browser)
    try:
        yield ctx.new_page()
    finally:
        ctx.close()


def _sign_in_form(page: Page, person: Account) -> None:
    """The password step and the TOTP step, on whatever sign-in page the browser was sent to."""
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("h1")).to_have_text("サインイン")
    page.locator("input[name=username]").fill(person.username)
    page.locator("input[name=password]").fill(person.password)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("確認コード")
    page.locator("input[name=otp]").fill(pyotp.TOTP(person.totp_secret).now())
    page.locator("form[action='/login/otp'] button[type=submit]").click()


def _catch_redirects_to(page: Page, redirect_uri: str) -> list[str]:
    """Answer every browser request to the relying party's redirect URI here; return the URLs seen."""
    seen: list[str] = []

    def handle(route: Route) -> None:
        seen.append(route.request.url)
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body="<title>RP</title><h1>RP</h1>")

    page.route(lambda url: url.startswith(redirect_uri), handle)
    return seen


def _card(page: Page, section: str, consent_id: str) -> Locator:
    return page.locator(f"#{section} li.card[data-consent='{consent_id}']")


# -- the test -----------------------------------------------------------------------------------


def test_two_party_consent_in_the_browser_then_employer_revokes(
    live_server: LiveServer, world: World, rp: RelyingParty, technician_page: Page, employer_page: Page
) -> None:
    """Issue 4 items 4-5 (rule 1 of docs/domain.md): nothing until both the technician and the employer
    approve; then exactly the approved group; the employer's revocation stops the token at once."""
    server = live_server
    period_end = (date.today() + timedelta(days=180)).isoformat()
    details = [
        {"type": "genba_technician_data", "groups": ["qualifications"], "purpose": PURPOSE, "period_end": period_end}
    ]
    url, verifier, state = rp.authorization_url(details)

    # 1. The technician signs in from the authorization request and approves on the consent page.
    page = technician_page
    seen = _catch_redirects_to(page, world.redirect_uri)
    page.goto(url)
    page.wait_for_url(lambda u: urlsplit(u).path == "/login")
    _sign_in_form(page, world.technician)
    expect(page.locator("h1")).to_have_text("情報提供の確認")
    expect(page.locator("#client-name")).to_have_text(world.client_name)
    consent_box = page.locator("#authorization-details")
    expect(consent_box.locator(".purpose")).to_have_text(PURPOSE)
    expect(consent_box.locator("ul.groups li")).to_have_count(1)
    expect(consent_box.locator("li[data-group='qualifications']")).to_have_text("保有資格")
    expect(consent_box).to_contain_text(period_end)
    page.locator("#approve").click()
    page.wait_for_url(lambda u: u.startswith(world.redirect_uri))
    assert len(seen) == 1, seen
    answer = {k: v[0] for k, v in parse_qs(urlsplit(seen[0]).query).items()}
    assert answer.get("state") == state and "error" not in answer, answer
    assert answer.get("iss") in (None, server.base_url), answer  # RFC 9207 when sent

    # 2. The relying party exchanges the code: the granted details carry the consent id.
    tokens = rp.exchange(answer["code"], verifier)
    granted = tokens["authorization_details"]
    assert len(granted) == 1, granted
    assert granted[0]["type"] == "genba_technician_data" and granted[0]["groups"] == ["qualifications"], granted
    assert granted[0]["purpose"] == PURPOSE and granted[0]["period_end"] == period_end, granted
    consent_id = granted[0]["consent_id"]
    access_token = tokens["access_token"]

    # 3. Only the technician has approved: nothing is disclosed, and the reason says why.
    waiting = rp.read_me(access_token)
    assert waiting.status_code == 403, waiting.text
    assert waiting.json()["missing"]["qualifications"]["code"] == "awaiting_employer", waiting.text

    page.goto(server.url("/consent"))
    mine = _card(page, "active", consent_id)
    expect(mine.locator(".state")).to_have_attribute("data-state", "awaiting")
    expect(mine.locator(".state")).to_contain_text("所属事業者の同意待ち")

    # 4. The employer administrator approves the request from the inbox (bulk approval form).
    staff_page = employer_page
    staff_page.goto(server.url("/consent/employer"))
    staff_page.wait_for_url(lambda u: urlsplit(u).path == "/login")
    _sign_in_form(staff_page, world.employer_admin)
    staff_page.wait_for_url(server.url("/consent/employer"))  # back where the sign-in started
    expect(staff_page.locator("h1")).to_have_text("情報提供の承認（事業者）")
    pending = _card(staff_page, "pending", consent_id)
    expect(pending.locator(".purpose")).to_have_text(PURPOSE)
    expect(pending.locator(".technician")).to_contain_text(TECHNICIAN)
    expect(pending.locator(".recipient")).to_have_text(world.client_name)
    expect(pending.locator("li[data-group='qualifications']")).to_have_text("保有資格")
    staff_page.locator(f"input[type=checkbox][name='id_{consent_id}']").check()
    staff_page.locator("#bulk-approve").click()
    staff_page.wait_for_url(lambda u: "notice=consent.done_approve" in u)
    expect(staff_page.get_by_role("status")).to_have_text("承認しました")
    expect(_card(staff_page, "active", consent_id).locator(".state")).to_have_attribute("data-state", "active")

    # 5. Both approved: the relying party reads exactly the qualifications, nothing else.
    data = rp.read_me(access_token)
    assert data.status_code == 200, data.text
    body = data.json()
    assert body["technician"] == {"qualifications": QUALIFICATIONS}, body
    assert body["allowed_groups"] == ["qualifications"] and "two-party-consent" in body["rules"], body

    # 6. The employer revokes; the token relied on that consent, so it stops working at once.
    _card(staff_page, "active", consent_id).locator(f"form[action='/consent/{consent_id}/revoke'] button").click()
    expect(staff_page.locator("h1")).to_have_text("同意を取り消しますか？")  # issue 15, item 10: asked first
    staff_page.locator("#revoke-confirm").click()
    staff_page.wait_for_url(lambda u: "notice=consent.done_revoke" in u)
    expect(staff_page.get_by_role("status")).to_have_text("取り消しました")
    expect(_card(staff_page, "active", consent_id)).to_have_count(0)

    refused = rp.read_me(access_token)
    assert refused.status_code == 401, refused.text
    assert "invalid_token" in refused.headers.get("www-authenticate", ""), refused.headers
    assert rp.introspect(access_token) == {"active": False}

    # 7. The technician's consent page shows the request as withdrawn (取り消し).
    page.goto(server.url("/consent"))
    expect(_card(page, "active", consent_id)).to_have_count(0)
    state_cell = _card(page, "history", consent_id).locator(".state")
    expect(state_cell).to_have_attribute("data-state", "revoked")
    expect(state_cell).to_have_text("取り消し")
