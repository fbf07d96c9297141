"""The worker caches' bus and bounded cache (common/invalidation.py; issue 14, "Caches that are never
wrong for long")."""

from __future__ import annotations

from common.invalidation import MISSING, InvalidationBus, KeyedCache


def _bus(trusted: bool = True) -> InvalidationBus:
    bus = InvalidationBus()
    bus.probe = lambda: trusted
    return bus


def test_a_cache_answers_nothing_while_the_bus_is_not_trusted() -> None:
    """Deny stale: while the worker is not listening, every look-up goes to the database."""
    state = {"trusted": True}
    bus = InvalidationBus()
    bus.probe = lambda: state["trusted"]
    cache: KeyedCache[str, int] = KeyedCache(bus, "oauthclient")
    cache.fill("c1", 1, cache.generation())
    assert cache.get("c1") == 1
    state["trusted"] = False
    assert cache.get("c1") is MISSING


def test_a_notice_empties_its_row_and_a_table_notice_empties_all() -> None:
    """A change to one row drops that row (integer keys arrive as text); ``None`` drops the table."""
    bus = _bus()
    accounts: KeyedCache[int, str] = KeyedCache(bus, "account")
    clients: KeyedCache[str, str] = KeyedCache(bus, "oauthclient")
    for key in (1, 2):
        accounts.fill(key, f"a{key}", accounts.generation())
    clients.fill("c", "client", clients.generation())
    bus.publish("account", "1")
    assert accounts.get(1) is MISSING and accounts.get(2) == "a2" and clients.get("c") == "client"
    bus.publish("oauthclient", None)
    assert clients.get("c") is MISSING and accounts.get(2) == "a2"
    bus.clear()
    assert accounts.get(2) is MISSING


def test_a_fill_that_raced_an_invalidation_is_dropped() -> None:
    """A value read from the database before a change was notified must not be cached after it:
    the generation read before the database read no longer matches."""
    bus = _bus()
    cache: KeyedCache[str, str] = KeyedCache(bus, "oauthgrant")
    before = cache.generation()  # the reader starts, reads the old row...
    bus.publish("oauthgrant", "g1")  # ... the revocation is committed and notified ...
    cache.fill("g1", "old row", before)  # ... and the reader tries to keep what it read
    assert cache.get("g1") is MISSING


def test_the_cache_is_bounded_least_recently_used_first_out() -> None:
    """Bounded by count: the entry used least recently leaves first."""
    cache: KeyedCache[str, int] = KeyedCache(_bus(), "revokedtoken", size=2)
    cache.fill("a", 1, cache.generation())
    cache.fill("b", 2, cache.generation())
    assert cache.get("a") == 1  # "b" is now the least recently used
    cache.fill("c", 3, cache.generation())
    assert cache.get("b") is MISSING and cache.get("a") == 1 and cache.get("c") == 3 and len(cache) == 2
