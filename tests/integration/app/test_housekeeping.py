"""Expired rows are deleted (app/housekeeping.py, idp/purge.py) and anonymous endpoints are limited
per client address (app/ratelimit.py), on SQLite and PostgreSQL, with the clock injected."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect
from sqlmodel import Session, SQLModel, select

from app import housekeeping
from idp.models import (
    AuthorizationCode,
    Interaction,
    PushedRequest,
    ReplayEntry,
    RevokedToken,
    ThrottleEntry,
    WebSession,
)
from tests.support.clock import FrozenClock
from tests.support.web import build_app
from wallet.models import WalletNonce

HOUR = timedelta(hours=1)


def _session(key: str, state: str, expires_at: datetime) -> WebSession:
    return WebSession(
        id_hash=key, state=state, created_at=expires_at - HOUR, last_seen_at=expires_at - HOUR, expires_at=expires_at
    )


def _code(key: str, expires_at: datetime) -> AuthorizationCode:
    return AuthorizationCode(code_hash=key, grant_id="g", client_id="c", created_at=expires_at, expires_at=expires_at)


def _world(now: datetime) -> list[SQLModel]:
    """For each table, rows that are dead (key ``dead…``) and rows that still matter (``live…``)."""
    past, future = now - timedelta(seconds=1), now + timedelta(minutes=5)
    return [
        Interaction(id_hash="dead", client_id="c", params={}, created_at=past, expires_at=past),
        Interaction(id_hash="live", client_id="c", params={}, created_at=now, expires_at=future),
        PushedRequest(request_uri_hash="dead", client_id="c", params={}, expires_at=past),
        PushedRequest(request_uri_hash="live", client_id="c", params={}, expires_at=future),
        ReplayEntry(key="dead", expires_at=past),
        ReplayEntry(key="live", expires_at=future),
        RevokedToken(jti="dead", expires_at=now - 2 * HOUR),
        RevokedToken(jti="live-leeway", expires_at=past),  # kept an hour past the token's expiry
        _code("dead", now - timedelta(days=2)),
        _code("live-recent", past),  # a replay within a day still revokes what it issued
        _session("dead-pending", "pending", past),
        _session("live-pending", "pending", future),
        _session("live-history", "active", now - timedelta(days=29)),
        _session("dead-active", "active", now - timedelta(days=31)),
        ThrottleEntry(key="dead", failures=3, first_failure_at=now - timedelta(days=2)),
        ThrottleEntry(key="live-blocked", failures=40, first_failure_at=now - timedelta(days=2), blocked_until=future),
        ThrottleEntry(key="live-recent", failures=3, first_failure_at=now - timedelta(minutes=5)),
        WalletNonce(value_hash="dead", expires_at=past),
        WalletNonce(value_hash="dead-used", expires_at=past, used_at=now - timedelta(minutes=2)),
        WalletNonce(value_hash="live", expires_at=future),
    ]


def _keys(engine: Engine) -> dict[str, list[str]]:
    models = (Interaction, PushedRequest, ReplayEntry, RevokedToken, AuthorizationCode, WebSession, ThrottleEntry)
    with Session(engine) as session:
        found: dict[str, list[str]] = {}
        for model in (*models, WalletNonce):
            mapper = inspect(model)
            found[model.__name__] = sorted(session.execute(select(mapper.primary_key[0])).scalars())
        return found


def test_purge_deletes_what_has_expired_in_every_table_and_nothing_else(engine: Engine, db: Session) -> None:
    now = FrozenClock()()
    db.add_all(_world(now))
    db.commit()
    counts = housekeeping.purge(engine, now=now, throttle_window=HOUR)
    assert counts == {
        "interaction": 1,
        "pushedrequest": 1,
        "replayentry": 1,
        "revokedtoken": 1,
        "authorizationcode": 1,
        "websession": 2,
        "throttleentry": 1,
        "walletnonce": 2,
    }
    assert all(key.startswith("live") for keys in _keys(engine).values() for key in keys)
    assert housekeeping.purge(engine, now=now, throttle_window=HOUR) == dict.fromkeys(counts, 0)


def test_purge_works_in_batches_and_can_stop_after_some(
    engine: Engine, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = FrozenClock()()
    db.add_all(WalletNonce(value_hash=f"n{i}", expires_at=now - HOUR) for i in range(5))
    db.commit()
    monkeypatch.setattr(housekeeping, "BATCH", 2)
    assert housekeeping.purge(engine, now=now, throttle_window=HOUR, max_batches=1)["walletnonce"] == 2
    assert housekeeping.purge(engine, now=now, throttle_window=HOUR)["walletnonce"] == 3


def test_a_worker_purges_before_it_serves(
    tmp_path: Path, db_url: str, engine: Engine, clock: FrozenClock, db: Session
) -> None:
    db.add_all(_world(clock()))
    db.commit()
    app = build_app(tmp_path, db_url, engine, clock, purge_interval_seconds=3600)
    with TestClient(app, base_url="http://localhost") as client:
        assert client.get("/healthz").status_code == 200
        assert all(key.startswith("live") for keys in _keys(engine).values() for key in keys)


def test_anonymous_endpoints_are_limited_per_address_per_minute(
    tmp_path: Path, db_url: str, engine: Engine, clock: FrozenClock, db: Session
) -> None:
    """RFC 6585 §4: 429 with Retry-After beyond the limit; the next window admits again."""
    app = build_app(tmp_path, db_url, engine, clock, anonymous_requests_per_minute=2)
    with TestClient(app, base_url="http://localhost") as client:
        assert [client.post("/wallet/nonce").status_code for _ in range(3)] == [200, 200, 429]
        refused = client.post("/wallet/nonce")
        assert refused.status_code == 429 and refused.headers["retry-after"].isdigit()
        assert refused.json()["error"] == "temporarily_unavailable"
        assert "x-request-id" in refused.headers  # inside the security headers middleware
        # each endpoint counts on its own
        assert client.post("/login/passkey/options").status_code != 429
        clock.advance(minutes=3)
        assert client.post("/wallet/nonce").status_code == 200
    with Session(engine) as session:
        assert len(session.exec(select(WalletNonce)).all()) == 3


def test_limited_endpoints_take_small_bodies_only(
    tmp_path: Path, db_url: str, engine: Engine, clock: FrozenClock, db: Session
) -> None:
    """An authorization request must fit a URL (64 KiB): its stored parameters are no bigger."""
    app = build_app(tmp_path, db_url, engine, clock, anonymous_requests_per_minute=100)
    with TestClient(app, base_url="http://localhost") as client:
        big = {"client_id": "x", "padding": "a" * 70_000}
        assert client.post("/authorize", data=big).status_code == 413
        assert client.post("/par", data=big).status_code == 413
