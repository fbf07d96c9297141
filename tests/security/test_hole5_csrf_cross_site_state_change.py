"""Issue 12 mechanism (with hole 5): every cookie-authenticated state change, JSON included, is protected
against CSRF — not only by each route's own token, but by the browser's statement of where the request
comes from, for the whole application (app/cross_site.py; Fetch Metadata, RFC 6454 Origin).

Before, a cross-site request that carried the session cookie and a valid token — a token that leaked
(a shared screenshot, a page kept in a cache, an extension), or one a sibling host learnt — was
obeyed, although the browser said ``Sec-Fetch-Site: cross-site`` and ``Origin: https://evil.example``;
only the gate's JSON routes looked at those headers. Now such requests are refused with 403 and a
bilingual message before any route sees them. Protocol calls with a Bearer/DPoP token and no cookie,
and the endpoints other sites call by design (app/cross_site.py ``EXEMPT``: /token, /authorize,
RP-initiated logout, the wallet's direct_post to /gate/responses/{id}, ...), are not affected.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.http_user import Credentials, HttpUser, csrf_of
from tests.support.server import LiveServer

EVIL = "https://evil.example"
REFUSED = "別のサイトからの要求は受け付けません"
FOREIGN = {
    "cross-site form": {"Sec-Fetch-Site": "cross-site", "Origin": EVIL, "Accept": "text/html"},
    "sibling host": {"Sec-Fetch-Site": "same-site", "Origin": "https://other.localhost"},
    "browser without Fetch Metadata": {"Origin": EVIL},
}


def _signed_in(server: LiveServer, users: Callable[..., HttpUser], technician: Callable[..., Credentials]) -> HttpUser:
    return users(server).sign_in(technician())


@pytest.mark.parametrize("headers", FOREIGN.values(), ids=FOREIGN.keys())
def test_a_cross_site_form_is_refused_even_with_a_valid_token(
    server: LiveServer,
    users: Callable[..., HttpUser],
    technician: Callable[..., Credentials],
    headers: dict[str, str],
) -> None:
    victim = _signed_in(server, users, technician)
    leaked = csrf_of(victim.get("/logout").text)  # a token valid in the victim's session
    forged = victim.post("/logout", data={"csrf_token": leaked, "everywhere": "1"}, headers=headers)
    assert forged.status_code == 403, forged.status_code
    assert "別のサイトから" in forged.text
    assert victim.get("/account").status_code == 200  # still signed in: nothing happened


def test_a_cross_site_json_call_is_refused_even_with_its_header_token(
    server: LiveServer, users: Callable[..., HttpUser], technician: Callable[..., Credentials]
) -> None:
    victim = _signed_in(server, users, technician)
    leaked = csrf_of(victim.get("/account").text)
    forged = victim.post(
        "/account/passkeys/options",
        content="{}",
        headers={"Content-Type": "application/json", "X-CSRF-Token": leaked, "Sec-Fetch-Site": "cross-site"},
    )
    assert forged.status_code == 403
    assert forged.json()["error"] == "invalid_request" and forged.json()["message"].startswith(REFUSED)


def test_the_sites_own_pages_still_work(
    server: LiveServer, users: Callable[..., HttpUser], technician: Callable[..., Credentials]
) -> None:
    """Same-origin form (Origin is "null" under Referrer-Policy no-referrer) and same-origin fetch."""
    user = _signed_in(server, users, technician)
    own = {"Sec-Fetch-Site": "same-origin", "Origin": "null"}
    token = csrf_of(user.get("/account").text)
    options = user.post(
        "/account/passkeys/options",
        content="{}",
        headers={"Content-Type": "application/json", "X-CSRF-Token": token, "Origin": server.base_url},
    )
    assert options.status_code == 200, options.text
    out = user.post("/logout", data={"csrf_token": csrf_of(user.get("/logout").text)}, headers=own)
    assert out.status_code == 200
    assert user.get("/account").status_code == 303


def test_protocol_endpoints_other_sites_call_are_exempt(
    server: LiveServer, users: Callable[..., HttpUser], technician: Callable[..., Credentials]
) -> None:
    """With the session cookie and cross-site headers, each answers for itself (never the guard's 403)."""
    browser = _signed_in(server, users, technician)
    cross = FOREIGN["cross-site form"] | {"Accept": "application/json"}
    token = browser.post("/token", data={"grant_type": "authorization_code", "code": "x"}, headers=cross)
    assert token.status_code in (400, 401) and "error" in token.json() and REFUSED not in token.text
    logout = browser.post("/session/end", data={}, headers=cross)
    assert logout.status_code in (200, 400) and REFUSED not in logout.text
    wallet = browser.post("/gate/responses/no-such-request", data={"vp_token": "{}", "state": "s"}, headers=cross)
    assert REFUSED not in wallet.text, wallet.text


def test_a_bearer_call_without_cookie_is_a_protocol_call(server: LiveServer, users: Callable[..., HttpUser]) -> None:
    api = users(server)
    answer = api.post(
        "/api/v1/consent-requests",
        json={},
        headers={"Authorization": "Bearer not-a-token", **FOREIGN["cross-site form"]},
    )
    assert answer.status_code in (400, 401) and REFUSED not in answer.text, answer.text
