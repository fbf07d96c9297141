"""A person using a real server over HTTP (httpx, no browser): sign-in with password and TOTP,
forms with their CSRF token, and the OpenID Connect code flow as a relying party would run it.

The security tests (``tests/security``) attack a real ``uvicorn`` process with these, so what
they show is what a client on the network sees.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pyotp

from tests.support.server import LiveServer

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
HIDDEN_RE = re.compile(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"')


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, f"page has no CSRF token: {html[:300]}"
    return match.group(1)


def hidden_fields(html: str) -> dict[str, str]:
    import html as html_lib

    return {name: html_lib.unescape(value) for name, value in HIDDEN_RE.findall(html)}


@dataclass
class Credentials:
    username: str
    password: str
    totp_secret: str


class HttpUser:
    """One person's cookie jar against the server (``httpx.Client``; redirects are not followed)."""

    def __init__(self, server: LiveServer, who: Credentials | None = None, *, source: str | None = None) -> None:
        """``source``: the local address to connect from — any of 127.0.0.0/8 reaches the server on
        127.0.0.1, so a test can be many clients without trusting X-Forwarded-For."""
        self.server = server
        self.who = who
        transport = httpx.HTTPTransport(local_address=source) if source else None
        self.http = httpx.Client(base_url=server.base_url, timeout=30.0, follow_redirects=False, transport=transport)

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.post(path, **kwargs)

    def form(self, page_path: str, action: str, data: dict[str, str]) -> httpx.Response:
        """Load ``page_path``, take its CSRF token and POST ``data`` to ``action`` as the page's form would."""
        page = self.http.get(page_path)
        assert page.status_code == 200, (page.status_code, page.text[:300])
        return self.http.post(action, data={**data, "csrf_token": csrf_of(page.text)})

    def password_step(self, username: str, password: str) -> httpx.Response:
        page = self.http.get("/login")
        return self.http.post(
            "/login", data={"username": username, "password": password, "csrf_token": csrf_of(page.text)}
        )

    def sign_in(self, who: Credentials | None = None, *, steps_ahead: int = 0) -> HttpUser:
        """Password, then a TOTP code; asserts that both steps succeed. A code is accepted once (RFC 6238
        §5.2) and the server allows one step of drift: a second sign-in of the same person within 30 s
        uses the next step's code (``steps_ahead=1``)."""
        who = who or self.who
        assert who is not None
        self.who = who
        first = self.password_step(who.username, who.password)
        assert first.status_code == 303 and first.headers["location"] == "/login/otp", (first.status_code, first.text)
        page = self.http.get("/login/otp")
        code = pyotp.TOTP(who.totp_secret).at(time.time() + 30 * steps_ahead)
        done = self.http.post("/login/otp", data={"otp": code, "csrf_token": csrf_of(page.text)})
        assert done.status_code == 303, (done.status_code, done.text[:500])
        return self


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize(user: HttpUser, params: dict[str, str], *, decision: str = "approve") -> dict[str, list[str]]:
    """Run ``/authorize`` as the signed-in ``user``: follow the provider's own pages, approve (or deny)
    the consent screen, and return the query of the redirect back to the client."""
    response = user.get("/authorize?" + urlencode(params))
    for _ in range(10):
        if response.status_code in (302, 303):
            location = response.headers["location"]
            if not location.startswith("/") and not location.startswith(user.server.base_url):
                return parse_qs(urlsplit(location).query)
            response = user.get(location.removeprefix(user.server.base_url))
            continue
        if response.status_code == 200 and 'name="decision"' in response.text:
            fields = hidden_fields(response.text)
            response = user.post("/authorize/consent", data={**fields, "decision": decision})
            continue
        raise AssertionError(f"unexpected /authorize answer {response.status_code}: {response.text[:500]}")
    raise AssertionError("too many redirects")
