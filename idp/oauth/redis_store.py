"""Redis-backed replay cache (DPoP proof and client assertion ``jti``): ``SET key NX PX ttl``
is atomic, so the first use wins across every worker and host, and entries expire by themselves."""

from __future__ import annotations

from datetime import datetime

import redis
from sqlmodel import Session


class RedisReplayCache:
    def __init__(self, client: redis.Redis, prefix: str = "genba:replay:") -> None:
        self._redis = client
        self._prefix = prefix

    def first_use(self, session: Session, key: str, *, expires_at: datetime, now: datetime) -> bool:
        ttl_ms = max(1000, int((expires_at - now).total_seconds() * 1000))
        return bool(self._redis.set(self._prefix + key[:200], b"1", nx=True, px=ttl_ms))
