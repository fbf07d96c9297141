"""Throttling of failed sign-in and OTP attempts per account, per client address and per both.

Each key gets a few free failures per window; after that every further failure doubles a
wait, capped per rule (OWASP Authentication Cheat Sheet, "Account lockout": prefer delays
to lockout). The per-account cap is short, so an attacker can slow guessing down but can
never keep the owner locked out; a passkey sign-in is never blocked by password failures.
Counters live in the database, so every worker process shares them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from idp.models import ThrottleEntry
from idp.runtime import ThrottleRule


@dataclass(frozen=True)
class ThrottleSubject:
    """Who is attempting: the normalised username (may be unknown) and the client address."""

    username: str
    ip: str

    def keys(self, rules: tuple[ThrottleRule, ...]) -> list[tuple[str, ThrottleRule]]:
        values = {"acct-ip": f"{self.username}|{self.ip}", "ip": self.ip, "acct": self.username}
        return [(f"{rule.prefix}:{values[rule.prefix]}", rule) for rule in rules]


class Throttler(Protocol):
    """Database (below) or Redis (:mod:`idp.throttle_redis`): the same rules, shared by all workers."""

    def retry_after(self, *, session: Session, subject: ThrottleSubject, now: datetime) -> int: ...

    def record_failure(self, *, session: Session, subject: ThrottleSubject, now: datetime) -> None: ...

    def record_success(self, *, session: Session, subject: ThrottleSubject) -> None: ...


class Throttle:
    def __init__(self, rules: tuple[ThrottleRule, ...], window: timedelta, *, scope: str = "login") -> None:
        self._rules = rules
        self._window = window
        self._scope = scope

    def _keys(self, subject: ThrottleSubject) -> list[tuple[str, ThrottleRule]]:
        return [(f"{self._scope}:{k}", r) for k, r in subject.keys(self._rules)]

    def retry_after(self, *, session: Session, subject: ThrottleSubject, now: datetime) -> int:
        """Seconds until another attempt is allowed (0: go ahead)."""
        keys = [k for k, _ in self._keys(subject)]
        rows = session.exec(select(ThrottleEntry).where(col(ThrottleEntry.key).in_(keys))).all()
        wait = 0.0
        for row in rows:
            if row.blocked_until is not None and row.blocked_until > now:
                wait = max(wait, (row.blocked_until - now).total_seconds())
        return int(wait) + (1 if wait > int(wait) else 0)

    def record_failure(self, *, session: Session, subject: ThrottleSubject, now: datetime) -> None:
        for key, rule in self._keys(subject):
            self._increment(session=session, key=key, rule=rule, now=now)

    def _increment(self, *, session: Session, key: str, rule: ThrottleRule, now: datetime) -> None:
        # Atomic increment: concurrent failures from several workers are all counted.
        result = session.execute(
            update(ThrottleEntry).where(col(ThrottleEntry.key) == key).values(failures=ThrottleEntry.failures + 1)
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            try:
                with session.begin_nested():
                    session.add(ThrottleEntry(key=key, failures=1, first_failure_at=now))
            except IntegrityError:
                session.execute(
                    update(ThrottleEntry)
                    .where(col(ThrottleEntry.key) == key)
                    .values(failures=ThrottleEntry.failures + 1)
                )
        entry = session.get(ThrottleEntry, key, populate_existing=True)
        assert entry is not None
        if now - entry.first_failure_at > self._window and (entry.blocked_until is None or entry.blocked_until <= now):
            entry.failures, entry.first_failure_at, entry.blocked_until = 1, now, None
        over = entry.failures - rule.free_failures
        if over > 0:
            delay = min(timedelta(seconds=2 ** min(over - 1, 20)), rule.max_delay)
            entry.blocked_until = now + delay
        session.add(entry)

    def record_success(self, *, session: Session, subject: ThrottleSubject) -> None:
        """A successful sign-in clears the account's counters (not the address's)."""
        for key, rule in self._keys(subject):
            if rule.prefix != "ip":
                entry = session.get(ThrottleEntry, key)
                if entry is not None:
                    session.delete(entry)
