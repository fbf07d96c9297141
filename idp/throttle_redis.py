"""Failed-attempt throttling in Redis: the same rules and keys as :mod:`idp.throttle` (free failures, then
a doubling wait capped per rule; a known device's own budget; a shared key's wait jittered and never
told exactly), shared by every worker, with counters that expire by themselves."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import redis
from sqlmodel import Session

from idp.runtime import Randomness, SystemRandomness, ThrottleRule
from idp.throttle import ThrottleSubject, Wait, delay_for, wait_for


class RedisThrottle:
    def __init__(
        self,
        client: redis.Redis,
        rules: tuple[ThrottleRule, ...],
        window: timedelta,
        *,
        scope: str = "login",
        prefix: str = "genba:",
        rng: Randomness | None = None,
    ) -> None:
        self._redis, self._rules, self._window, self._scope = client, rules, window, scope
        self._prefix = prefix
        self._rng = rng or SystemRandomness()

    def _keys(self, subject: ThrottleSubject) -> list[tuple[str, ThrottleRule]]:
        return [(f"{self._prefix}throttle:{self._scope}:{k}", r) for k, r in subject.keys(self._rules)]

    def check(self, *, session: Session, subject: ThrottleSubject, now: datetime) -> Wait:
        keyed = self._keys(subject)
        values = self._redis.mget([k + ":until" for k, _ in keyed])
        return wait_for(
            (rule, float(value) - now.timestamp()) for (_, rule), value in zip(keyed, values, strict=True) if value
        )

    def retry_after(self, *, session: Session, subject: ThrottleSubject, now: datetime) -> int:
        return self.check(session=session, subject=subject, now=now).seconds

    def record_failure(self, *, session: Session, subject: ThrottleSubject, now: datetime) -> None:
        window = int(self._window.total_seconds())
        for key, rule in self._keys(subject):
            failures = int(self._redis.incr(key))
            if failures == 1:
                self._redis.expire(key, window)
            over = failures - rule.free_failures
            if over > 0:
                delay = delay_for(rule, over, self._rng).total_seconds()
                self._redis.set(key + ":until", str(now.timestamp() + delay), ex=math.ceil(delay) + 1)

    def record_success(self, *, session: Session, subject: ThrottleSubject) -> None:
        for key, rule in self._keys(subject):
            if rule.prefix != "ip":
                self._redis.delete(key, key + ":until")
