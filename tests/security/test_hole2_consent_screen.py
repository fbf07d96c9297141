"""The consent screen shows exactly the fields that will leave, and never says something the engine
does not enforce (issue 12, "one disclosure path"; holes 2 and 3).

Before the fix the screen listed the scopes as if they were released ("氏名・フリガナ・性別・生年月日"
for ``profile``, to a third party that then got them with no employer approval), said
「所属事業者も同意するまで提供されません」 under every authorization details entry (also for an
``openid_credential`` entry, with an empty purpose and no fields, and for a technician without an
employer, whose approval alone puts the consent in force). Now, for a technician, the screen lists
by field group what leaves at once, what waits for the employer (with purpose and period), and what
is asked for but withheld (with the engine's reason), and names the credential and its contents
that go into the requesting wallet app. Each test reads the real server's page over HTTP.
"""

from __future__ import annotations

import html
import json
import re
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from tests.security.conftest import DEMO_EMPLOYER
from tests.security.oidc_rp import REDIRECT_URI, STANDARD, code_flow, userinfo
from tests.support.http_user import Credentials, HttpUser
from tests.support.server import LiveServer

EMPLOYER_SENTENCE = "所属事業者も同意するまで提供されません"
PURPOSE = "入退場管理のための資格確認"


def consent_page(
    user: HttpUser, client: dict[str, Any], scope: str, details: str | None = None, ui_locales: str | None = None
) -> str:
    """The consent screen the signed-in ``user`` sees for this request (followed inside the provider)."""
    params = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": secrets.token_urlsafe(8),
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    if details is not None:
        params["authorization_details"] = details
    if ui_locales is not None:
        params["ui_locales"] = ui_locales
    response = user.get("/authorize?" + urlencode(params))
    for _ in range(5):
        if response.status_code in (302, 303):
            response = user.get(response.headers["location"].removeprefix(user.server.base_url))
            continue
        break
    assert response.status_code == 200 and 'name="decision"' in response.text, response.text[:500]
    return response.text


def section(html: str, section_id: str) -> str | None:
    match = re.search(rf'<section[^>]*id="{section_id}".*?</section>', html, re.S)
    return match.group(0) if match else None


def groups_in(html: str | None) -> list[str]:
    return re.findall(r'data-group="([^"]+)"', html or "")


def test_a_third_party_asking_by_scope_is_told_nothing_leaves(
    server: LiveServer,
    users: Callable[..., HttpUser],
    technician: Callable[..., Credentials],
    client_app: Callable[..., dict[str, Any]],
) -> None:
    """``openid profile phone address`` from a third party: nothing is listed as shared, identity, birth
    date and contact are listed as withheld with the engine's reason (no consent), and the employer
    sentence does not appear (no consent is being created that the employer could complete)."""
    person = users(server, technician()).sign_in()
    page = consent_page(person, client_app(), STANDARD)
    assert section(page, "release-now") is None and section(page, "authorization-details") is None
    assert groups_in(section(page, "release-withheld")) == ["identity", "birth_date", "contact"]
    assert "同意がありません" in (section(page, "release-withheld") or "")
    assert EMPLOYER_SENTENCE not in page


def test_entries_wait_for_the_employer_and_only_they_carry_the_employer_sentence(
    server: LiveServer,
    users: Callable[..., HttpUser],
    technician: Callable[..., Credentials],
    client_app: Callable[..., dict[str, Any]],
) -> None:
    """A ``genba_technician_data`` entry for identity and qualifications with scope ``profile``: those two
    wait for the employer (with the purpose), birth date (asked for by ``profile``, not by the entry) is
    withheld, and the employer sentence appears exactly once, in that entry; what the screen says is what
    userinfo then does (nothing until the employer approves)."""
    person = users(server, technician()).sign_in()
    client = client_app()
    details = [{"type": "genba_technician_data", "groups": ["identity", "qualifications"], "purpose": PURPOSE}]
    page = consent_page(person, client, "openid profile", json.dumps(details, ensure_ascii=False))
    waiting = section(page, "authorization-details")
    assert waiting is not None and PURPOSE in waiting and EMPLOYER_SENTENCE in waiting
    assert groups_in(waiting) == ["identity", "qualifications"]
    assert groups_in(section(page, "release-withheld")) == ["birth_date"]
    assert section(page, "release-now") is None and page.count(EMPLOYER_SENTENCE) == 1

    tokens = code_flow(person, client, scope="openid profile", details=details)
    info = userinfo(server, tokens["access_token"])
    assert "name" not in info and info["ccus_withheld"]["identity"] == "awaiting_employer"


def test_the_employers_own_system_is_shown_as_sharing_at_once(
    server: LiveServer,
    users: Callable[..., HttpUser],
    technician: Callable[..., Credentials],
    client_app: Callable[..., dict[str, Any]],
) -> None:
    """The current employer's own system (relationship rule ``current-employer-sees-its-technicians``)
    gets the standard claims at once: the screen lists them as shared now, says whose system it is, and
    has neither a withheld list nor the employer sentence; userinfo then returns them."""
    person = users(server, technician()).sign_in()
    own = client_app(name="山田工務店 勤怠管理", owner_employer_id=DEMO_EMPLOYER)
    page = consent_page(person, own, STANDARD)
    assert groups_in(section(page, "release-now")) == ["identity", "birth_date", "contact"]
    assert 'id="own-employer"' in page and "株式会社 山田工務店" in page
    assert section(page, "release-withheld") is None and EMPLOYER_SENTENCE not in page
    english = consent_page(person, own, STANDARD, ui_locales="en")
    shared = html.unescape(section(english, "release-now") or "")
    assert "Shared as soon as you allow" in shared and "to provide 山田工務店 勤怠管理's service" in shared
    assert "This system belongs to your employer" in english
    info = userinfo(server, code_flow(person, own, scope=STANDARD)["access_token"])
    assert info["birthdate"] == "1985-04-12" and "ccus_withheld" not in info


def test_without_an_employer_the_technicians_approval_alone_is_shown_as_enough(
    server: LiveServer,
    users: Callable[..., HttpUser],
    technician: Callable[..., Credentials],
    client_app: Callable[..., dict[str, Any]],
) -> None:
    """A technician with no current employer: the engine puts the consent in force on his approval alone,
    so the entry's groups are listed as shared at once and the employer sentence is not shown."""
    person = users(server, technician(employer_id=None)).sign_in()
    client = client_app()
    details = [{"type": "genba_technician_data", "groups": ["qualifications"], "purpose": PURPOSE}]
    page = consent_page(person, client, "openid", json.dumps(details, ensure_ascii=False))
    assert groups_in(section(page, "release-now")) == ["qualifications"]
    assert PURPOSE in (section(page, "release-now") or "")
    assert EMPLOYER_SENTENCE not in page and section(page, "authorization-details") is None
    tokens = code_flow(person, client, scope="openid", details=details)
    assert "qualifications" in userinfo(server, tokens["access_token"])["ccus"]


def test_a_credential_request_names_the_credential_its_contents_and_the_wallet(
    server: LiveServer,
    users: Callable[..., HttpUser],
    technician: Callable[..., Credentials],
    client_app: Callable[..., dict[str, Any]],
) -> None:
    """RFC 9396 ``openid_credential`` (OpenID4VCI §5.1.1): the screen says that the CCUS card, with its
    contents, goes into the wallet app named by the client; no empty purpose, no employer sentence."""
    person = users(server, technician()).sign_in()
    wallet = client_app(name="現場ウォレット試験", wallet=True)
    page = consent_page(
        person, wallet, "openid", '[{"type":"openid_credential","credential_configuration_id":"ccus_card"}]'
    )
    credentials = section(page, "credentials")
    assert credentials is not None and "現場ウォレット試験" in credentials
    assert 'data-credential="ccus_card"' in credentials and "建設キャリアアップカード" in credentials
    for field in ("技能者ID", "氏名", "所属事業者", "社会保険加入状況", "顔写真"):
        assert field in credentials, field
    assert EMPLOYER_SENTENCE not in page and 'class="purpose"></dd>' not in page
