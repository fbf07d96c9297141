"""ASGI middleware: request body limit, NUL refusal, security headers, request ids.

Pure ASGI (not ``BaseHTTPMiddleware``) so streaming bodies are counted as they arrive and an
oversize request is refused with 413 before the application reads it.
"""

from __future__ import annotations

import contextvars
import secrets
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.errors import GenbaError
from common.messages import message

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
REQUEST_ID_KEY = "genba.request_id"

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    ),
    (b"permissions-policy", b"camera=(self), geolocation=(), microphone=()"),
]


class BodyTooLarge(GenbaError):
    """The body grew past the limit while the application read it: 413 (RFC 9110 §15.5.14)."""

    code = "request_too_large"
    status = 413

    def __init__(self) -> None:
        super().__init__(message("http.body_too_large"), args=())


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _too_large(send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _too_large(send)


async def _too_large(send: Send) -> None:
    body = (message("http.body_too_large").bilingual() + "\n").encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class NulRefusalMiddleware:
    """Refuse a request whose path or query carries a NUL character (``%00``) with 400 invalid_request.

    No identifier, token or parameter Genba ID accepts contains U+0000 (RFC 6749 Appendix A: VSCHAR
    and NQCHAR are %x20-7E; URIs, RFC 3986 §2, have no NUL), and PostgreSQL text cannot hold it: such
    a value reached the database as a 500 (issue 12 item 8; found by fuzzing on PostgreSQL). Bodies are
    refused by their parsers (``idp/oauth/http.py``, ``idp/web/forms.py``).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and has_nul(scope.get("path", ""), scope.get("query_string", b"")):
            body = b'{"error": "invalid_request", "error_description": "NUL characters are not accepted"}'
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 400, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def has_nul(path: str, query: bytes) -> bool:
    lowered = query.lower()
    return "\x00" in path or b"%00" in lowered or b"\x00" in lowered


class SecurityHeadersMiddleware:
    """Adds a request id and defensive headers to every response (unless a route set its own CSP)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if incoming and len(incoming) <= 64 and incoming.isascii() else secrets.token_hex(8)
        token = request_id_var.set(rid)
        # kept in the scope too: the last-resort error handler runs in Starlette's outermost
        # middleware, after this one has reset the context variable (issue 12 item 8)
        scope[REQUEST_ID_KEY] = rid

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers.extend((k, v) for k, v in SECURITY_HEADERS if k not in present)
                headers.append((b"x-request-id", rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        finally:
            request_id_var.reset(token)
