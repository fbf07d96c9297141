"""Issue 12 item 8: the CSRF token was not bound to the session. The form token was an HMAC of the
``genba_csrf`` cookie alone, so anyone who learnt one (cookie, token) pair — by loading /login
himself — could use it in any browser holding that cookie value: plant the cookie (cookie tossing
from a sibling host or over plain http, where the ``__Host-`` prefix is not in use) and a cross-site
form with the known token passed the check in the victim's signed-in session.

Now the token is an HMAC of the cookie *and* of the session cookie (idp/web/forms.py; OWASP CSRF
Prevention Cheat Sheet, signed double-submit cookie bound to the session): a token minted before
sign-in, or for another person's session, is refused.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.http_user import Credentials, HttpUser, csrf_of
from tests.support.server import LiveServer

CSRF_COOKIE = "genba_csrf"  # no __Host- prefix on http (IdpConfig.cookie_prefix)


def _cookie(user: HttpUser, name: str) -> str:
    return next(c.value for c in user.http.cookies.jar if c.name == name and c.value)


def _plant(user: HttpUser, name: str, value: str) -> None:
    """What cookie tossing does: the victim's browser now holds the attacker's cookie value."""
    for cookie in user.http.cookies.jar:
        if cookie.name == name:
            cookie.value = value


@pytest.mark.parametrize("learnt", ["before sign-in", "in the attacker's own session"])
def test_a_token_from_another_session_is_refused(
    server: LiveServer, users: Callable[..., HttpUser], technician: Callable[..., Credentials], learnt: str
) -> None:
    attacker = users(server)
    if learnt == "before sign-in":
        token = csrf_of(attacker.get("/login").text)
    else:
        attacker.sign_in(technician())
        token = csrf_of(attacker.get("/account").text)
    planted = _cookie(attacker, CSRF_COOKIE)

    victim = users(server)
    victim.get("/login")
    _plant(victim, CSRF_COOKIE, planted)
    victim.sign_in(technician())
    assert _cookie(victim, CSRF_COOKIE) == planted

    # The attacker's cross-site form: "sign out everywhere" in the victim's session, with his token.
    forged = victim.post("/logout", data={"csrf_token": token, "everywhere": "1"})
    assert forged.status_code == 403, forged.status_code
    assert "もう一度お試しください" in forged.text
    assert victim.get("/account").status_code == 200  # still signed in: nothing happened

    # The victim's own page gives a token that works in his session (and only there).
    own = victim.form("/logout", "/logout", {"everywhere": "1"})
    assert own.status_code == 200
    assert victim.get("/account").status_code == 303


def test_a_token_stops_working_when_the_session_changes(
    server: LiveServer, users: Callable[..., HttpUser], technician: Callable[..., Credentials]
) -> None:
    """A sign-in gives a new session; the token of the page shown before it is stale afterwards."""
    user = users(server)
    before = csrf_of(user.get("/login").text)
    user.sign_in(technician())
    assert user.post("/logout", data={"csrf_token": before}).status_code == 403
    assert user.get("/account").status_code == 200
