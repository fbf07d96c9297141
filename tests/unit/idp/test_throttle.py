"""The throttle's rules without storage (idp/throttle.py, idp/known_devices.py): which keys a subject
counts against, how a wait is told, the jitter on shared keys, and the known-device cookie.
NIST SP 800-63B §5.2.2; issue 12 hole 4."""

from __future__ import annotations

from datetime import timedelta

from idp.known_devices import LIFETIME, KnownDevices
from idp.runtime import DEFAULT_THROTTLE_RULES, IdpConfig, ThrottleRule
from idp.throttle import ThrottleSubject, Wait, delay_for, wait_for
from tests.support.clock import FrozenClock

SHARED = ThrottleRule("acct", 10, timedelta(minutes=15), shared=True)
OWN = ThrottleRule("acct-ip", 5, timedelta(minutes=15))
CONFIG = IdpConfig(issuer="http://localhost", master_secret=b"k" * 32)


class FixedRandomness:
    """Injected randomness: every draw is ``byte`` repeated (0x00: the least jitter, 0xff: the most)."""

    def __init__(self, byte: int) -> None:
        self.byte = byte

    def token_bytes(self, n: int) -> bytes:
        return bytes([self.byte]) * n


def test_a_known_device_counts_only_against_its_own_budget() -> None:
    stranger = ThrottleSubject(username="u", ip="198.51.100.1")
    known = ThrottleSubject(username="u", ip="198.51.100.1", device="dev1")
    assert [k for k, _ in stranger.keys(DEFAULT_THROTTLE_RULES)] == [
        "acct-ip:u|198.51.100.1",
        "ip:198.51.100.1",
        "acct:u",
    ]
    assert [k for k, _ in known.keys(DEFAULT_THROTTLE_RULES)] == ["device:u|dev1"]


def test_a_shared_block_is_told_as_the_rules_maximum_and_an_own_block_exactly() -> None:
    assert wait_for([]) == Wait(0, 0)
    assert wait_for([(SHARED, -3.0)]) == Wait(0, 0)  # lifted
    assert wait_for([(SHARED, 1.2)]) == Wait(seconds=2, advertised=900)
    assert wait_for([(OWN, 7.5)]) == Wait(seconds=8, advertised=8)
    assert wait_for([(OWN, 30.0), (SHARED, 2.0)]) == Wait(seconds=30, advertised=900)


def test_only_shared_keys_are_jittered_and_never_past_the_cap() -> None:
    low, high = FixedRandomness(0x00), FixedRandomness(0xFF)
    assert delay_for(OWN, 3, low) == delay_for(OWN, 3, high) == timedelta(seconds=4)
    assert delay_for(SHARED, 3, low) == timedelta(seconds=2)  # half fixed ...
    assert timedelta(seconds=3.99) < delay_for(SHARED, 3, high) <= timedelta(seconds=4)  # ... half random
    assert delay_for(SHARED, 40, high) <= SHARED.max_delay


def test_the_known_device_cookie_names_its_accounts_and_cannot_be_forged() -> None:
    clock = FrozenClock()
    devices = KnownDevices(CONFIG, FixedRandomness(7))
    cookie = devices.remember(None, account_id=12, now=clock())
    device = devices.device_for(cookie, account_id=12, now=clock())
    assert device is not None
    assert devices.device_for(cookie, account_id=13, now=clock()) is None  # another account: a stranger
    both = devices.remember(cookie, account_id=13, now=clock())
    assert devices.device_for(both, account_id=12, now=clock()) == devices.device_for(both, account_id=13, now=clock())
    body, mac = cookie.split(".")
    assert devices.device_for(f"{body}.{mac[::-1]}", account_id=12, now=clock()) is None
    other_key = KnownDevices(IdpConfig(issuer="http://localhost", master_secret=b"x" * 32), FixedRandomness(7))
    assert other_key.device_for(cookie, account_id=12, now=clock()) is None
    for junk in (None, "", "a.b.c", "." * 5, "x" * 5000):
        assert devices.device_for(junk, account_id=12, now=clock()) is None


def test_a_known_device_is_forgotten_after_its_lifetime() -> None:
    clock = FrozenClock()
    devices = KnownDevices(CONFIG, FixedRandomness(1))
    cookie = devices.remember(None, account_id=5, now=clock())
    clock.advance(seconds=LIFETIME.total_seconds() - 1)
    assert devices.device_for(cookie, account_id=5, now=clock()) is not None
    clock.advance(seconds=2)
    assert devices.device_for(cookie, account_id=5, now=clock()) is None


def test_a_device_remembers_a_bounded_number_of_accounts_newest_first() -> None:
    clock = FrozenClock()
    devices = KnownDevices(CONFIG, FixedRandomness(2))
    cookie = None
    for account in range(1, 21):
        cookie = devices.remember(cookie, account_id=account, now=clock.advance(minutes=1))
    known = [a for a in range(1, 21) if devices.device_for(cookie, account_id=a, now=clock()) is not None]
    assert known == list(range(13, 21))
