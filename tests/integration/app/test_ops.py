"""Operations (issue 8, item 3 and "Bad input"): liveness, readiness checking the database and Redis,
Prometheus metrics, 503 with Retry-After (never a stack trace) when a backing service is down, and
recovery by itself; load shedding instead of unbounded queueing; Redis-backed shared state."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import secrets
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app import database
from app.ops import OpsMiddleware
from idp.oauth.redis_store import RedisReplayCache
from idp.runtime import ThrottleRule
from idp.throttle import ThrottleSubject
from idp.throttle_redis import RedisThrottle
from tests.support.clock import FrozenClock
from tests.support.tcpproxy import TcpProxy
from tests.support.web import build_app, make_technician, password_step

REDIS = "redis://127.0.0.1:6379/0"


def test_liveness_readiness_and_metrics(app: FastAPI, client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
    client.get("/.well-known/openid-configuration")
    text = client.get("/metrics").text
    assert 'genba_http_requests_total{method="GET",route="/.well-known/openid-configuration",status="200"}' in text


def test_readiness_fails_when_redis_is_down(
    tmp_path: Path, db_url: str, engine: Engine, clock: FrozenClock, db: Session
) -> None:
    app = build_app(tmp_path, db_url, engine, clock, redis_url="redis://127.0.0.1:1/0")
    with TestClient(app, base_url="http://localhost") as api:
        ready = api.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["redis"] != "ok"


def test_database_outage_gives_503_then_recovers(tmp_path: Path, db_url: str, clock: FrozenClock, db: Session) -> None:
    """A database that stops answering mid-run gives 503 + Retry-After; service resumes by itself."""
    if not db_url.startswith("postgresql"):
        return  # SQLite is a file: it cannot go away like a server (covered on the PostgreSQL run)
    target = db_url.split("@", 1)[1].split("/", 1)[0]
    host, port = target.rsplit(":", 1)
    with TcpProxy(host, int(port)) as proxy:
        proxied = db_url.replace(target, f"127.0.0.1:{proxy.port}")
        engine = database.make_engine(proxied, pool_pre_ping=True)
        app = build_app(tmp_path, proxied, engine, clock)
        with TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as api:
            assert api.get("/readyz").status_code == 200
            assert api.get("/jwks").status_code == 200
            proxy.stop()  # the database disappears
            engine.dispose()
            down = api.get("/account/photo", headers={"Cookie": "genba_session=x"})
            assert down.status_code == 503 and down.headers["retry-after"] == "5"
            assert "Traceback" not in down.text
            assert api.get("/readyz").status_code == 503
            proxy.start()  # it comes back
            assert api.get("/readyz").status_code == 200
            assert api.get("/account/photo", headers={"Cookie": "genba_session=x"}).status_code == 401
        engine.dispose()


def test_load_is_shed_with_503_and_retry_after() -> None:
    """Under overload requests are refused with 503 + Retry-After rather than queued without bound."""
    release = asyncio.Event()

    async def slow_app(scope, receive, send):  # type: ignore[no-untyped-def]
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    middleware = OpsMiddleware(slow_app, max_inflight=2)
    sent: list[list[dict[str, object]]] = [[], [], []]

    def scope() -> dict[str, object]:
        return {"type": "http", "method": "GET", "path": "/x", "headers": []}

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    async def run() -> None:
        tasks = [asyncio.create_task(middleware(scope(), receive, _collector(sent[i]))) for i in range(2)]
        await asyncio.sleep(0)  # let both start (yields control; no wall-clock wait)
        await middleware(scope(), receive, _collector(sent[2]))
        release.set()
        await asyncio.gather(*tasks)

    # in a thread of its own: a Playwright test earlier in this worker may have left a running loop here
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()
    assert sent[2][0]["status"] == 503 and (b"retry-after", b"1") in sent[2][0]["headers"]  # type: ignore[operator]
    assert sent[0][0]["status"] == 200 and sent[1][0]["status"] == 200


def _collector(into: list[dict[str, object]]):  # type: ignore[no-untyped-def]
    async def send(message):  # type: ignore[no-untyped-def]
        into.append(message)

    return send


def test_redis_replay_cache_first_use_wins() -> None:
    """DPoP and client-assertion jti (RFC 9449 §11.1): shared by every worker through Redis."""
    cache = RedisReplayCache(redis.Redis.from_url(REDIS), prefix=f"genba:test:{secrets.token_hex(4)}:")
    now = datetime(2026, 11, 27, 1, 0, tzinfo=datetime.now().astimezone().tzinfo)
    expires = now + timedelta(seconds=30)
    assert cache.first_use(None, "dpop:k:1", expires_at=expires, now=now)  # type: ignore[arg-type]
    assert not cache.first_use(None, "dpop:k:1", expires_at=expires, now=now)  # type: ignore[arg-type]


def test_redis_throttle_is_shared_and_lifts(clock: FrozenClock) -> None:
    client = redis.Redis.from_url(REDIS)
    rules = (ThrottleRule("acct-ip", 2, timedelta(seconds=30)),)
    scope = f"test{secrets.token_hex(4)}"
    worker_a = RedisThrottle(client, rules, timedelta(hours=1), scope=scope)
    worker_b = RedisThrottle(client, rules, timedelta(hours=1), scope=scope)
    who = ThrottleSubject(username="10000000000019", ip="203.0.113.9")
    for _ in range(3):
        worker_a.record_failure(session=None, subject=who, now=clock())  # type: ignore[arg-type]
    assert worker_b.retry_after(session=None, subject=who, now=clock()) >= 1  # type: ignore[arg-type]
    clock.advance(seconds=31)
    assert worker_b.retry_after(session=None, subject=who, now=clock()) == 0  # type: ignore[arg-type]


def test_sign_in_throttle_uses_redis_when_configured(
    tmp_path: Path, db_url: str, engine: Engine, clock: FrozenClock, db: Session
) -> None:
    app = build_app(tmp_path, db_url, engine, clock, redis_url=REDIS)
    person = make_technician(app, technician_id=f"1{secrets.randbelow(10**13):013d}")
    with TestClient(app, base_url="http://localhost") as api:
        statuses = [password_step(api, person.username, "wrong password!!")[0] for _ in range(7)]
    assert statuses[-1] == 429


def test_a_client_that_disconnects_mid_body_is_not_an_error(app: FastAPI, caplog: pytest.LogCaptureFixture) -> None:
    """Operations: a client gone while its form is read (starlette ClientDisconnect) is answered
    quietly, not logged as an unhandled error (which would page an operator for nothing)."""
    messages: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.disconnect"}

    async def send(message):  # type: ignore[no-untyped-def]
        messages.append(message)

    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "path": "/token",
        "raw_path": b"/token",
        "query_string": b"",
        "scheme": "http",
        "server": ("localhost", 80),
        "client": ("127.0.0.1", 5000),
        "headers": [(b"host", b"localhost"), (b"content-type", b"application/x-www-form-urlencoded")],
    }
    with caplog.at_level(logging.INFO), concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    assert messages and messages[0]["status"] == 400
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], [r.getMessage() for r in caplog.records]
