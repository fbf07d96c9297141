"""Worker caches that are never wrong for long: the invalidation bus and a bounded cache on it
(issue 14, "Caches that are never wrong for long"; docs/operations.md "Worker caches").

The database tells each worker what changed (PostgreSQL: ``LISTEN``/``NOTIFY`` fired by triggers at
COMMIT; SQLite: the file's ``PRAGMA data_version``); ``app`` picks how and feeds this bus. A domain
only declares what it caches (:class:`KeyedCache`, one per table, the table's name as the topic) and
asks :meth:`InvalidationBus.trusted` before believing it. While the bus is not trusted (not yet
listening, the notification connection lost, its lease run out) every cache answers "not cached",
so every read goes to the database: deny stale, never serve it.

A fill that raced an invalidation is dropped: :meth:`KeyedCache.generation` is read before the
database is, and :meth:`KeyedCache.fill` keeps the value only if nothing was invalidated since.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Final, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

#: what :meth:`KeyedCache.get` answers for "not cached" (``None`` may be a cached value)
MISSING: Final = object()

#: a change to one row of a table (``key`` its primary key as text), or to all of them (``None``)
Subscriber = Callable[[str | None], None]


class InvalidationBus:
    """Per worker: who caches what, and whether the caches may be believed right now.

    ``probe`` (set by the application) is asked on every :meth:`trusted`: the SQLite probe checks the
    file's data version and clears the caches when another connection committed; the PostgreSQL
    listener answers whether it is listening inside its lease."""

    def __init__(self) -> None:
        self._subscribers: dict[str, list[Subscriber]] = {}
        self._lock = threading.Lock()
        self.probe: Callable[[], bool] = lambda: False
        #: how the worker learns of changes, for ``/readyz``: "listening" or "database-fallback"
        self.describe: Callable[[], str] = lambda: "database-fallback"

    def subscribe(self, topic: str, callback: Subscriber) -> None:
        with self._lock:
            self._subscribers.setdefault(topic, []).append(callback)

    def topics(self) -> list[str]:
        with self._lock:
            return list(self._subscribers)

    def publish(self, topic: str, key: str | None) -> None:
        """A row of ``topic`` changed (``key``), or every row (``None``): drop what is cached of it."""
        with self._lock:
            callbacks = list(self._subscribers.get(topic, ()))
        for callback in callbacks:
            callback(key)

    def clear(self) -> None:
        """Anything may have changed (a (re)connection, another process wrote): drop everything."""
        for topic in self.topics():
            self.publish(topic, None)

    def trusted(self) -> bool:
        """May a cached value be used now? Cheap: no database round trip on PostgreSQL, one
        ``PRAGMA`` on the SQLite file."""
        return self.probe()


class KeyedCache(Generic[K, V]):
    """A bounded (least recently used first out) cache of one table's rows, emptied by the bus.

    Values must be immutable or never changed by their users: one value serves every thread."""

    def __init__(self, bus: InvalidationBus, topic: str, *, size: int = 10_000) -> None:
        self._bus = bus
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._generation = 0
        bus.subscribe(topic, self._invalidate)

    def generation(self) -> int:
        """Read before reading the database; pass to :meth:`fill`."""
        return self._generation

    def get(self, key: K) -> V | object:
        """The cached value, or :data:`MISSING` (not cached, or the bus is not trusted now)."""
        if not self._bus.trusted():
            return MISSING
        with self._lock:
            value = self._entries.get(key, MISSING)
            if value is not MISSING:
                self._entries.move_to_end(key)
            return value

    def fill(self, key: K, value: V, generation: int) -> None:
        """Keep ``value`` read from the database, unless something was invalidated since
        ``generation`` was read (the read may predate that change)."""
        with self._lock:
            if generation != self._generation:
                return
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def _invalidate(self, key: str | None) -> None:
        with self._lock:
            self._generation += 1
            if key is None:
                self._entries.clear()
            else:
                # keys are the table's primary key; an integer key is published as text
                for name in (key, int(key)) if key.isdigit() else (key,):
                    if name in self._entries:
                        del self._entries[name]  # type: ignore[arg-type]
