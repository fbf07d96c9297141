"""Throttling of failed sign-in and OTP attempts, keyed so that an attacker cannot lock the owner out.

NIST SP 800-63B §5.2.2 (rate limiting) and OWASP Authentication Cheat Sheet ("Account lockout":
prefer delays to lockout). Each key gets a few free failures per window; after that every further
failure doubles a wait, capped per rule. The keys (:class:`ThrottleSubject`):

* from an unknown ("anonymous") device: the account with this address (``acct-ip``), the address
  (``ip``) and the account from anywhere (``acct``). ``acct`` is the pool every stranger shares, so
  whoever fails from many addresses can keep it closed: issue 12 hole 4 kept the owner's correct
  password at 429 that way, timing each bad guess by ``Retry-After``.
* from a *known device* of the account (a signed cookie set after a successful sign-in,
  idp/known_devices.py): that device's own budget (``device``) and nothing else, so no failure
  made elsewhere ever blocks the owner's usual device — NIST SP 800-63B §5.2.2 names exactly this
  ("allow the subscriber to authenticate from a device previously used"). A passkey sign-in is never
  blocked by password failures at all.

``Retry-After`` does not hand the attacker a timetable: the wait on a key that strangers share
(``ThrottleRule.shared``) is jittered with injected randomness and reported as the rule's maximum,
never as the exact time it lifts (issue 12 mechanism "Throttling that cannot lock the owner out").
Counters live in the database, so every worker process shares them; :mod:`idp.throttle_redis` keeps
the same rules in Redis.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from idp.models import ThrottleEntry
from idp.runtime import Randomness, SystemRandomness, ThrottleRule

#: The rule of a known device's own budget; every other rule is for anonymous attempts.
DEVICE = "device"


@dataclass(frozen=True)
class ThrottleSubject:
    """Who is attempting: the normalised username (may be unknown), the client address, and the
    known-device id when the browser holds a valid known-device cookie for this account."""

    username: str
    ip: str
    device: str | None = None

    def keys(self, rules: tuple[ThrottleRule, ...]) -> list[tuple[str, ThrottleRule]]:
        values = {
            "acct-ip": f"{self.username}|{self.ip}",
            "ip": self.ip,
            "acct": self.username,
            DEVICE: f"{self.username}|{self.device}",
        }
        known = self.device is not None
        return [(f"{rule.prefix}:{values[rule.prefix]}", rule) for rule in rules if (rule.prefix == DEVICE) == known]


@dataclass(frozen=True)
class Wait:
    """``seconds`` until an attempt is allowed (0: go ahead); ``advertised``: what ``Retry-After`` says."""

    seconds: int
    advertised: int


def wait_for(blocks: Iterable[tuple[ThrottleRule, float]]) -> Wait:
    """The wait for a subject from each of its keys' remaining block (seconds, ≤ 0: not blocked).
    A shared key's block is told as the rule's maximum, never its exact end."""
    exact, told = 0.0, 0.0
    for rule, remaining in blocks:
        if remaining > 0:
            exact = max(exact, remaining)
            told = max(told, rule.max_delay.total_seconds() if rule.shared else remaining)
    return Wait(seconds=math.ceil(exact), advertised=math.ceil(told))


def delay_for(rule: ThrottleRule, over: int, rng: Randomness) -> timedelta:
    """2^(over-1) seconds, capped at the rule's maximum; on a shared key a random part of it
    ("equal jitter": half fixed, half uniform) so its end cannot be computed from the failures."""
    delay = min(timedelta(seconds=2 ** min(over - 1, 20)), rule.max_delay)
    if not rule.shared:
        return delay
    fraction = int.from_bytes(rng.token_bytes(4), "big") / 2**32
    return delay * (0.5 + 0.5 * fraction)


class Throttler(Protocol):
    """Database (below) or Redis (:mod:`idp.throttle_redis`): the same rules, shared by all workers."""

    def check(self, *, session: Session, subject: ThrottleSubject, now: datetime) -> Wait: ...

    def retry_after(self, *, session: Session, subject: ThrottleSubject, now: datetime) -> int: ...

    def record_failure(self, *, session: Session, subject: ThrottleSubject, now: datetime) -> None: ...

    def record_success(self, *, session: Session, subject: ThrottleSubject) -> None: ...


class Throttle:
    def __init__(
        self,
        rules: tuple[ThrottleRule, ...],
        window: timedelta,
        *,
        scope: str = "login",
        rng: Randomness | None = None,
    ) -> None:
        self._rules = rules
        self._window = window
        self._scope = scope
        self._rng = rng or SystemRandomness()

    def _keys(self, subject: ThrottleSubject) -> list[tuple[str, ThrottleRule]]:
        return [(f"{self._scope}:{k}", r) for k, r in subject.keys(self._rules)]

    def check(self, *, session: Session, subject: ThrottleSubject, now: datetime) -> Wait:
        keyed = dict(self._keys(subject))
        rows = session.exec(select(ThrottleEntry).where(col(ThrottleEntry.key).in_(list(keyed)))).all()
        return wait_for(
            (keyed[row.key], (row.blocked_until - now).total_seconds()) for row in rows if row.blocked_until is not None
        )

    def retry_after(self, *, session: Session, subject: ThrottleSubject, now: datetime) -> int:
        """Seconds until another attempt is allowed (0: go ahead)."""
        return self.check(session=session, subject=subject, now=now).seconds

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
            entry.blocked_until = now + delay_for(rule, over, self._rng)
        session.add(entry)

    def record_success(self, *, session: Session, subject: ThrottleSubject) -> None:
        """A successful sign-in clears the subject's own account counters (not the address's; and a
        known device's success leaves the strangers' pool as it is)."""
        for key, rule in self._keys(subject):
            if rule.prefix != "ip":
                entry = session.get(ThrottleEntry, key)
                if entry is not None:
                    session.delete(entry)
