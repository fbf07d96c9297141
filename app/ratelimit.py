"""Per-address limits on the endpoints where a caller who has proved nothing makes the service
store something (each row is deleted once it expires: app/housekeeping.py).

:data:`LIMITED` names them. From one client address each accepts ``GENBA_ANONYMOUS_REQUESTS_PER_MINUTE``
requests a minute (0: no limit); beyond that the answer is ``429 Too Many Requests`` with
``Retry-After`` (RFC 6585 §4), as JSON ``temporarily_unavailable`` for programs and as a short
bilingual page at ``/authorize``, where a person is looking. Bodies there are capped at
:data:`MAX_BODY_BYTES`, so no stored request is bigger than a request head may be.

The counting is the sign-in throttle's (idp/throttle.py, or Redis with ``GENBA_REDIS_URL``, shared
by every worker): one ``ip`` rule per endpoint whose free attempts are the limit, with a one-minute
window; a caller over the limit waits, doubling, up to a minute past the window. Behind the proxy
the address is the client's (``--proxy-headers``). Many people behind one carrier-grade NAT share
an address, so the default is generous; it bounds one machine's flood, not the whole internet's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from app.middleware import BodyLimitMiddleware
from idp.public import RedisThrottle, Throttle, Throttler, ThrottleRule, ThrottleSubject

WINDOW = timedelta(minutes=1)
MAX_BODY_BYTES = 64 * 1024  # as a request head (app/serving.py): an authorization request fits a URL


@dataclass(frozen=True)
class Limited:
    """One endpoint that stores a row for an anonymous caller; ``page``: a person reads the refusal."""

    name: str
    path: str
    methods: frozenset[str]
    stores: str
    page: bool = False


LIMITED = (
    Limited("authorize", "/authorize", frozenset({"GET", "POST"}), "an interaction (idp.models.Interaction)", True),
    Limited("par", "/par", frozenset({"POST"}), "a pushed request (RFC 9126; public clients need no secret)"),
    Limited("nonce", "/wallet/nonce", frozenset({"POST"}), "a c_nonce (OpenID4VCI §7)"),
    Limited("passkey", "/login/passkey/options", frozenset({"POST"}), "a pending session with a challenge"),
)


def address_rate(
    engine: Engine, clock: Callable[[], datetime], per_minute: int, shared: redis.Redis | None, prefix: str
) -> AddressRate:
    """One throttle per endpoint (scope ``rate-<name>``): ``per_minute`` free requests per address."""
    rules = (ThrottleRule("ip", per_minute, WINDOW),)
    throttles: dict[str, Throttler] = {
        item.name: RedisThrottle(shared, rules, WINDOW, scope=f"rate-{item.name}", prefix=prefix)
        if shared is not None
        else Throttle(rules, WINDOW, scope=f"rate-{item.name}")
        for item in LIMITED
    }
    return AddressRate(engine, clock, throttles)


class AddressRate:
    """Admits or refuses one request from an address, counting it in the endpoint's throttle."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime], throttles: dict[str, Throttler]) -> None:
        self._engine, self._clock, self._throttles = engine, clock, throttles

    def wait(self, name: str, address: str) -> int:
        """0: admitted (and counted); otherwise the seconds to wait, and this request is refused."""
        throttle, now = self._throttles[name], self._clock()
        subject = ThrottleSubject(username="", ip=address)
        with Session(self._engine) as session:
            wait = throttle.retry_after(session=session, subject=subject, now=now)
            if wait:
                return wait
            throttle.record_failure(session=session, subject=subject, now=now)
            session.commit()
            return throttle.retry_after(session=session, subject=subject, now=now)  # this one went over


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, rate: AddressRate) -> None:
        self.app = app
        self.rate = rate
        self.routes = {(method, item.path): item for item in LIMITED for method in item.methods}
        self.capped = BodyLimitMiddleware(app, MAX_BODY_BYTES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        item = self.routes.get((scope.get("method", ""), scope.get("path", ""))) if scope["type"] == "http" else None
        if item is None:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = client[0] if client else "unknown"
        wait = await run_in_threadpool(self.rate.wait, item.name, address)
        if wait:
            await _too_many(send, wait, page=item.page)
            return
        await self.capped(scope, receive, send)


PAGE = (
    '<!doctype html><html lang="ja"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Genba ID</title></head><body>'
    "<h1>しばらくしてからもう一度お試しください</h1><p>この接続元からの要求が多すぎます。</p>"
    '<p lang="en">Too many requests from this address; please try again later.</p></body></html>'
)
JSON = '{"error": "temporarily_unavailable", "error_description": "too many requests from this address"}'


async def _too_many(send: Send, wait: int, *, page: bool) -> None:
    body = (PAGE if page else JSON).encode()
    kind = b"text/html; charset=utf-8" if page else b"application/json"
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", kind),
                (b"retry-after", str(wait).encode()),
                (b"cache-control", b"no-store"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
