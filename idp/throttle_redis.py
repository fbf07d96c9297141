"""Failed-attempt throttling in Redis: the same rules as :mod:`idp.throttle` (free failures, then a
doubling wait capped per rule), shared by every worker, with counters that expire by themselves."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import redis
from sqlmodel import Session

from idp.runtime import ThrottleRule
from idp.throttle import ThrottleSubject


class RedisThrottle:
    def __init__(
        self,
        client: redis.Redis,
        rules: tuple[ThrottleRule, ...],
        window: timedelta,
        *,
        scope: str = "login",
        prefix: str = "genba:",
    ) -> None:
        self._redis, self._rules, self._window, self._scope = client, rules, window, scope
        self._prefix = prefix

    def _keys(self, subject: ThrottleSubject) -> list[tuple[str, ThrottleRule]]:
        return [(f"{self._prefix}throttle:{self._scope}:{k}", r) for k, r in subject.keys(self._rules)]

    def retry_after(self, *, session: Session, subject: ThrottleSubject, now: datetime) -> int:
        keys = [k + ":until" for k, _ in self._keys(subject)]
        wait = 0.0
        for value in self._redis.mget(keys):
            if value is not None:
                wait = max(wait, float(value) - now.timestamp())
        return max(0, math.ceil(wait))

    def record_failure(self, *, session: Session, subject: ThrottleSubject, now: datetime) -> None:
        window = int(self._window.total_seconds())
        for key, rule in self._keys(subject):
            failures = int(self._redis.incr(key))
            if failures == 1:
                self._redis.expire(key, window)
            over = failures - rule.free_failures
            if over > 0:
                delay = min(timedelta(seconds=2 ** min(over - 1, 20)), rule.max_delay)
                self._redis.set(
                    key + ":until", str(now.timestamp() + delay.total_seconds()), ex=int(delay.total_seconds()) + 1
                )

    def record_success(self, *, session: Session, subject: ThrottleSubject) -> None:
        for key, rule in self._keys(subject):
            if rule.prefix != "ip":
                self._redis.delete(key, key + ":until")
