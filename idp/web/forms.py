"""Strict form parsing and CSRF protection for the pages.

Written by hand because the form parser Starlette uses replaces invalid UTF-8 silently and
keeps the last of duplicated fields; here both are refused with a clear 400. CSRF uses the
signed double-submit cookie pattern (OWASP CSRF Prevention Cheat Sheet, "Signed Double-Submit
Cookie"): the form token is an HMAC, under a server key, of a random cookie value *and of the
browser session* (the SHA-256 of the session cookie, or of nothing before sign-in), compared in
constant time. Bound to the session (issue 12 item 8), a token learnt for one session — the
attacker's own, or one planted with a tossed CSRF cookie — is worth nothing in another, and a
sign-in or sign-out makes every earlier token stale.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qsl

from fastapi import Request, Response

from common.errors import GenbaError, Message, bilingual
from common.messages import message
from idp.runtime import IdpConfig, Randomness, token_urlsafe
from idp.secretbox import derive_key

CSRF_COOKIE = "genba_csrf"
CSRF_FIELD = "csrf_token"
MAX_FIELDS = 50
MAX_FIELD_LENGTH = 4096
FORM_TYPE = "application/x-www-form-urlencoded"


class BadForm(GenbaError, ValueError):
    """The submitted form cannot be accepted; ``ja``/``en`` say why (``form.*`` in the catalogue),
    ``status`` is the HTTP code."""

    code = "invalid_request"

    def __init__(self, ja: Message | str, en: str | None = None, status: int = 400) -> None:
        super().__init__(bilingual(ja, en), status=status)


async def read_form(request: Request) -> dict[str, str]:
    """Parse an urlencoded body: UTF-8 strictly, no duplicated or over-long fields."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise BadForm(message("form.content_type", expected=FORM_TYPE), status=415)
    body = await request.body()
    try:
        pairs = parse_qsl(
            body.decode("ascii"),
            keep_blank_values=True,
            strict_parsing=False,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeDecodeError:
        raise BadForm(message("form.not_utf8")) from None
    except ValueError:
        raise BadForm(message("form.too_many_fields")) from None
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:
            raise BadForm(message("form.repeated", key=key))
        if len(value) > MAX_FIELD_LENGTH:
            raise BadForm(message("form.too_long", key=key))
        if "\x00" in key or "\x00" in value:  # no field holds NUL, and PostgreSQL text cannot store it
            raise BadForm(message("form.nul"))
        form[key] = value
    return form


class Csrf:
    def __init__(self, config: IdpConfig, rng: Randomness) -> None:
        self._key = derive_key(config.master_secret, "csrf")
        self._config = config
        self._rng = rng

    @property
    def cookie_name(self) -> str:
        return self._config.cookie_prefix + CSRF_COOKIE

    def _sign(self, value: str, session: str | None) -> str:
        bound = hashlib.sha256((session or "").encode()).hexdigest()
        mac = hmac.new(self._key, f"{value}|{bound}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def _session(self, request: Request) -> str | None:
        return request.cookies.get(self._config.cookie_prefix + self._config.cookie_name)

    def token_for(self, request: Request, response_cookies: dict[str, str], *, session: str | None = None) -> str:
        """The form token for this browser and its session; sets the cookie if the browser has none yet.
        ``session``: the session cookie this response sets, when it sets one (else the request's)."""
        value = request.cookies.get(self.cookie_name)
        if not value or len(value) > 100:
            value = response_cookies.get(self.cookie_name) or token_urlsafe(self._rng, 32)
            response_cookies[self.cookie_name] = value
        return self._sign(value, session if session is not None else self._session(request))

    def check(self, request: Request, submitted: str | None) -> None:
        value = request.cookies.get(self.cookie_name)
        expected = self._sign(value, self._session(request)) if value else ""
        if not value or not submitted or not hmac.compare_digest(expected, submitted):
            raise BadForm(message("form.csrf"), status=403)

    def set_cookie(self, response: Response, value: str) -> None:
        response.set_cookie(
            self.cookie_name, value, httponly=True, secure=self._config.secure_cookies, samesite="lax", path="/"
        )
