"""The sign-in throttle with its storage, on every database backend and on Redis, with an injected clock
and injected randomness (idp/throttle.py, idp/throttle_redis.py; NIST SP 800-63B §5.2.2; issue 12 hole 4):
failures from any number of addresses close the account's shared pool but never the owner's known
device, and the shared pool's wait is jittered and told only as its cap."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from sqlmodel import Session

from idp.runtime import DEFAULT_THROTTLE_RULES
from idp.throttle import Throttle, Throttler, ThrottleSubject
from idp.throttle_redis import RedisThrottle
from tests.support.clock import FrozenClock
from tests.unit.idp.test_throttle import FixedRandomness

REDIS = "redis://127.0.0.1:6379/0"
WINDOW = timedelta(hours=1)


@pytest.fixture(params=["database", "redis"])
def throttle(request: pytest.FixtureRequest) -> Iterator[Throttler]:
    if request.param == "database":
        yield Throttle(DEFAULT_THROTTLE_RULES, WINDOW, rng=FixedRandomness(0xFF))
        return
    client = redis.Redis.from_url(REDIS)
    prefix = f"genba:test:{secrets.token_hex(4)}:"
    yield RedisThrottle(client, DEFAULT_THROTTLE_RULES, WINDOW, prefix=prefix, rng=FixedRandomness(0xFF))
    for key in client.scan_iter(prefix + "*"):
        client.delete(key)


def _fail_from_many_addresses(throttle: Throttler, db: Session, clock: FrozenClock, times: int) -> None:
    for n in range(times):
        stranger = ThrottleSubject(username="owner", ip=f"198.51.100.{n}")
        if not throttle.check(session=db, subject=stranger, now=clock()).seconds:
            throttle.record_failure(session=db, subject=stranger, now=clock())
            db.commit()
        clock.advance(seconds=0.1)


def test_strangers_close_the_shared_pool_but_not_the_owners_known_device(
    throttle: Throttler, db: Session, clock: FrozenClock
) -> None:
    _fail_from_many_addresses(throttle, db, clock, 11)
    stranger = ThrottleSubject(username="owner", ip="203.0.113.7")
    owner = ThrottleSubject(username="owner", ip="203.0.113.7", device="owners-phone")
    refused = throttle.check(session=db, subject=stranger, now=clock())
    assert refused.seconds == 1 and refused.advertised == 900  # jittered below 1 s, told as the cap
    assert throttle.check(session=db, subject=owner, now=clock()).seconds == 0


def test_the_shared_pool_lifts_by_itself_after_its_jittered_wait(
    throttle: Throttler, db: Session, clock: FrozenClock
) -> None:
    _fail_from_many_addresses(throttle, db, clock, 11)
    stranger = ThrottleSubject(username="owner", ip="203.0.113.7")
    assert throttle.check(session=db, subject=stranger, now=clock()).seconds > 0
    clock.advance(seconds=1)
    assert throttle.check(session=db, subject=stranger, now=clock()).seconds == 0


def test_a_known_device_has_its_own_budget_and_its_success_keeps_the_strangers_waiting(
    throttle: Throttler, db: Session, clock: FrozenClock
) -> None:
    owner = ThrottleSubject(username="owner", ip="203.0.113.7", device="owners-phone")
    for _ in range(11):  # the owner himself mistypes on his device: ten free, then he waits too
        throttle.record_failure(session=db, subject=owner, now=clock())
    db.commit()
    wait = throttle.check(session=db, subject=owner, now=clock())
    assert wait.seconds == 1 and wait.advertised == 1  # his own device's wait is told exactly
    other_device = ThrottleSubject(username="owner", ip="203.0.113.7", device="owners-laptop")
    assert throttle.check(session=db, subject=other_device, now=clock()).seconds == 0

    _fail_from_many_addresses(throttle, db, clock, 11)
    throttle.record_success(session=db, subject=other_device)
    db.commit()
    stranger = ThrottleSubject(username="owner", ip="192.0.2.1")
    assert throttle.check(session=db, subject=stranger, now=clock()).seconds > 0
