"""Operations: liveness and readiness, Prometheus metrics, load shedding, and 503s (never stack traces)
when the database or Redis is down — service resumes by itself when they return."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

router = APIRouter()
REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("genba_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=REGISTRY)
LATENCY = Histogram(
    "genba_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
TOKENS = Counter("genba_tokens_issued_total", "Token responses with status 200", registry=REGISTRY)
SIGNIN_FAILURES = Counter(
    "genba_signin_failures_total", "Failed or throttled sign-in steps", ["step"], registry=REGISTRY
)
CONSENT = Counter("genba_consent_decisions_total", "Data API answers by outcome", ["outcome"], registry=REGISTRY)
GATE = Counter("genba_gate_checks_total", "Presentations checked at gates", ["mode"], registry=REGISTRY)
SHED = Counter("genba_shed_requests_total", "Requests refused with 503 under overload", registry=REGISTRY)
UNAVAILABLE = Counter(
    "genba_dependency_unavailable_total", "503s because the database or Redis is down", registry=REGISTRY
)


def _route(scope: Scope) -> str:
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))


def observe(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)
    if route == "/token" and status == 200:
        TOKENS.inc()
    elif route in ("/login", "/login/otp", "/login/recovery", "/login/passkey/verify") and status in (401, 429):
        SIGNIN_FAILURES.labels(route.rsplit("/", 1)[-1] or "password").inc()
    elif route.startswith("/api/v1/technicians") or route.startswith("/api/v1/sites"):
        CONSENT.labels("disclosed" if status == 200 else "refused").inc()
    elif route in ("/gate/responses/{request_id}", "/gate/events"):
        GATE.labels("online" if route.startswith("/gate/responses") else "offline").inc()


class OpsMiddleware:
    """Counts and times every request; sheds load beyond ``max_inflight`` concurrent requests per worker
    with 503 and ``Retry-After`` instead of queueing without bound."""

    def __init__(self, app: ASGIApp, max_inflight: int) -> None:
        self.app = app
        self.max_inflight = max_inflight
        self.inflight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.inflight >= self.max_inflight and scope["path"] not in ("/healthz", "/readyz", "/metrics"):
            SHED.inc()
            await _unavailable(send, 1, "busy")
            return
        self.inflight += 1
        started = time.perf_counter()
        status = 500

        async def tracking(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        finally:
            self.inflight -= 1
            observe(scope["method"], _route(scope), status, time.perf_counter() - started)


async def _unavailable(send: Send, retry_after: int, reason: str) -> None:
    body = f'{{"error": "temporarily_unavailable", "error_description": "{reason}"}}'.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"retry-after", str(retry_after).encode()),
                (b"cache-control", b"no-store"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def dependency_down(exc: BaseException) -> bool:
    """Database or Redis unreachable (not a bug in our code): answer 503 and let it recover."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeout
    from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    return isinstance(
        exc, OperationalError | InterfaceError | DisconnectionError | PoolTimeout | RedisConnectionError | RedisTimeout
    )


def unavailable_response() -> Response:
    UNAVAILABLE.inc()
    return JSONResponse(
        {"error": "temporarily_unavailable", "error_description": "a backing service is unavailable; please retry"},
        status_code=503,
        headers={"Retry-After": "5", "Cache-Control": "no-store"},
    )


@router.get("/healthz", include_in_schema=False)
def healthz() -> Response:
    """Liveness: the process answers."""
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


def _keys_open(request: Request) -> bool:
    """Keys sealed under another ``GENBA_SECRET_KEY`` (a restored or copied database): the process
    answers but cannot sign a token or a credential, so it is not ready (issue 12 item 8)."""
    state = request.app.state
    oauth, wallet = getattr(state, "oauth", None), getattr(state, "wallet", None)
    if oauth is not None and not oauth.services.keys.openable():
        return False
    return wallet is None or bool(wallet.keys.openable(wallet.clock()))


@router.get("/readyz", include_in_schema=False)
def readyz(request: Request) -> Response:
    """Readiness: the database (and Redis, when configured) answer; 503 otherwise. Also says how the
    worker's caches learn of changes (``checks.invalidation``), which does not decide readiness."""
    checks: dict[str, Any] = {}
    try:
        with request.app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = type(exc).__name__
    if checks["database"] == "ok":
        checks["keys"] = "ok" if _keys_open(request) else "signing keys cannot be opened with this GENBA_SECRET_KEY"
    redis_client = getattr(request.app.state, "redis", None)
    if redis_client is not None:
        try:
            redis_client.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = type(exc).__name__
    ready = all(v == "ok" for v in checks.values())
    invalidation = getattr(request.app.state, "invalidation", None)
    if invalidation is not None:
        # how this worker learns of changes to what it caches: "listening" (PostgreSQL notifications),
        # "data-version" (SQLite) or "database-fallback" (not listening: every look-up reads the
        # database, still correct, so still ready; docs/operations.md "Worker caches")
        checks["invalidation"] = invalidation.bus.describe()
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    """Prometheus text format. With several workers, each answers its own counters unless
    PROMETHEUS_MULTIPROC_DIR is set (``genba serve`` sets it), in which case they are merged."""
    import os

    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
