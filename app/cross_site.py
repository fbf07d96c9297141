"""Cross-site request forgery, refused for the whole application (issue 12 mechanism: "every
cookie-authenticated state change, JSON included, is protected against CSRF").

Every request with an unsafe method (RFC 9110 §9.2.1: anything but GET, HEAD, OPTIONS, TRACE) whose
browser says it comes from another site — ``Sec-Fetch-Site`` other than ``same-origin``/``none``, or an
``Origin`` other than the issuer's (the rule: wallet/gate/guard.py ``foreign_request``) — is refused with
403 and a bilingual message before any route sees it. This sits in front of the route-level defences,
which stay: the session-bound form token (idp/web/forms.py), ``X-CSRF-Token`` on the pages' JSON calls,
and ``application/json`` only on the gate's routes (wallet/gate/guard.py). OWASP CSRF Prevention Cheat
Sheet, "Fetch Metadata headers" and "Verifying Origin with standard headers".

Not affected:

* a request that carries ``Authorization`` (a Bearer or DPoP token) and no session cookie: a protocol
  call; a browser cannot add that header to a cross-site request without a CORS preflight this server
  never grants, and the token, not an ambient cookie, is its authority;
* the endpoints in :data:`EXEMPT`, which relying parties and wallets call from other sites by design.
  Each says why. A new endpoint is guarded unless it is added here with its reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from wallet.gate.guard import foreign_request

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


@dataclass(frozen=True)
class Exempt:
    """A route template (``{name}`` is one path segment) that other sites may call, and why."""

    route: str
    reason: str

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(self.route)) + "$")


EXEMPT = (
    Exempt("/token", "OAuth token endpoint (RFC 6749 §3.2): client authentication, never the session cookie"),
    Exempt("/introspect", "token introspection (RFC 7662 §2): the resource server authenticates itself"),
    Exempt("/revoke", "token revocation (RFC 7009 §2): the client authenticates itself"),
    Exempt("/par", "pushed authorization requests (RFC 9126 §2): the client authenticates itself"),
    Exempt("/register", "dynamic client registration (RFC 7591 §3): no session; an initial access token"),
    Exempt("/register/{client_id}", "client configuration (RFC 7592 §2): the registration access token"),
    Exempt("/userinfo", "UserInfo may be POSTed (OIDC Core §5.3.1): the access token is the authority"),
    Exempt(
        "/authorize",
        "the authorization endpoint takes POST (OIDC Core §3.1.2.1) from the relying party's page; it does "
        "exactly what GET /authorize does (a consent is given or remembered only through the same-origin "
        "consent form; a remembered one answers to the registered redirect URI, as a GET navigation would)",
    ),
    Exempt(
        "/session/end",
        "RP-Initiated Logout 1.0 §2 allows a cross-site POST form; it only shows the same-origin confirmation",
    ),
    Exempt("/wallet/nonce", "OpenID4VCI §7 nonce endpoint: wallets of any origin, no session"),
    Exempt("/wallet/credential", "OpenID4VCI §8 credential endpoint: the (DPoP) access token is the authority"),
    Exempt("/wallet/notification", "OpenID4VCI §11 notification endpoint: the access token is the authority"),
    Exempt(
        "/gate/responses/{request_id}",
        "OpenID4VP §8.2 direct_post: the holder's wallet (any origin) posts its presentation, bound to the "
        "request's nonce; the gate's session cookie is not used there",
    ),
)

PAGE = (
    '<!doctype html><html lang="ja"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Genba ID</title></head><body>'
    "<h1>この操作は受け付けられません</h1><p>別のサイトから送られた要求は処理しません。"
    "現場IDの画面からもう一度操作してください。</p>"
    '<p lang="en">Requests sent from another site are not accepted. Please try again from Genba ID\'s own page.</p>'
    "</body></html>"
)
MESSAGE = "別のサイトからの要求は受け付けません / requests from another site are not accepted"


class CrossSiteGuard:
    """Pure ASGI: refuses before the body is read, whatever the route."""

    def __init__(self, app: ASGIApp, *, issuer: str, session_cookie: str) -> None:
        self.app, self.issuer, self.session_cookie = app, issuer, session_cookie
        self.exempt = [item.pattern for item in EXEMPT]

    def refuses(self, scope: Scope) -> str | None:
        """Why this request is refused, or None."""
        if scope["type"] != "http" or scope.get("method", "GET") in SAFE_METHODS:
            return None
        path = scope.get("path", "")
        if any(pattern.match(path) for pattern in self.exempt):
            return None
        headers = Headers(scope=scope)
        has_session = self.session_cookie in cookie_parser(headers.get("cookie", ""))
        if headers.get("authorization") and not has_session:
            return None
        return foreign_request(headers, self.issuer, opaque_origin_ok=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        reason = self.refuses(scope)
        if reason is None:
            await self.app(scope, receive, send)
            return
        accept = Headers(scope=scope).get("accept", "")
        if "text/html" in accept:
            body, kind = PAGE.encode(), b"text/html; charset=utf-8"
        else:
            problem = {"error": "invalid_request", "error_description": reason, "message": MESSAGE}
            body, kind = json.dumps(problem, ensure_ascii=False).encode(), b"application/json"
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", kind),
                    (b"cache-control", b"no-store"),
                    (b"vary", b"Origin, Sec-Fetch-Site"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
