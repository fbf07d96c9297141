"""One-time-value caches (DPoP proof ``jti``, client assertion ``jti``): the first use wins.

``DatabaseReplayCache`` shares state through the database so every worker sees every use;
a Redis implementation can replace it behind the same interface.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from idp.models import ReplayEntry


class ReplayCache(Protocol):
    def first_use(self, session: Session, key: str, *, expires_at: datetime, now: datetime) -> bool: ...


class DatabaseReplayCache:
    def first_use(self, session: Session, key: str, *, expires_at: datetime, now: datetime) -> bool:
        """Record ``key``; ``False`` if it was already recorded and has not expired."""
        existing = session.get(ReplayEntry, key)
        if existing is not None:
            if existing.expires_at > now:
                return False
            session.delete(existing)
            session.flush()
        try:
            with session.begin_nested():
                session.add(ReplayEntry(key=key[:200], expires_at=expires_at))
        except IntegrityError:
            return False
        return True

    def purge(self, session: Session, *, now: datetime) -> int:
        result = session.execute(delete(ReplayEntry).where(col(ReplayEntry.expires_at) <= now))
        return int(result.rowcount)  # type: ignore[attr-defined]
