"""How a worker learns that what it caches changed, and the writers' fence (issue 14, "Caches that
are never wrong for long"; docs/operations.md "Worker caches").

PostgreSQL: a listener per worker (app/invalidation_pg.py) on the notifications the database's
triggers send at COMMIT (app/migrations 0017). SQLite (one server process; the CLI may write the
same file): before a cached value is believed, the file's ``PRAGMA data_version`` is read on a
connection of its own; it changes whenever any other connection, in this process or another, has
committed, and then every cache is emptied. Nothing is cached on an in-memory database.

The fence: a session that changed something that revokes (a client changed or deleted, a grant
changed, an access token revoked, an account disabled) waits after its COMMIT until every live
worker has applied it (PostgreSQL; bounded by ``GENBA_CACHE_FENCE_SECONDS``), so "refused at once"
holds for the very next request to any worker. Installed on an engine by :func:`install_fence`, for
the server and for the CLI alike. On SQLite nothing needs waiting for: the next look-up reads the
data version first.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from typing import Any

from sqlalchemy import Engine, event, inspect
from sqlalchemy.orm import ORMExecuteState, Session

from app.invalidation_pg import Listener, PgFence
from common.invalidation import InvalidationBus
from idp.models import Account, OAuthClient, OAuthGrant, RevokedToken

_PENDING = "genba.cache_fence"
_FENCES: weakref.WeakKeyDictionary[Engine, Callable[[], bool]] = weakref.WeakKeyDictionary()


class SqliteProbe:
    """``PRAGMA data_version`` on a connection of its own: changed means another connection committed."""

    def __init__(self, path: str, bus: InvalidationBus) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._bus = bus
        self._version = -1
        bus.probe = self
        bus.describe = lambda: "data-version"

    def __call__(self) -> bool:
        with self._lock:
            if self._conn is None:  # a new connection counts its own versions: start afresh
                self._conn = sqlite3.connect(self._path, check_same_thread=False)
                self._version = -1
            row = self._conn.execute("PRAGMA data_version").fetchone()
            if int(row[0]) != self._version:
                self._bus.clear()
                self._version = int(row[0])
        return True

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


@dataclass
class WorkerInvalidation:
    """A worker's bus and what feeds it; :meth:`start` and :meth:`stop` from the lifespan (which may
    run more than once at a time for one application, as tests do: the last stop stops)."""

    bus: InvalidationBus
    listener: Listener | None = None
    probe: SqliteProbe | None = None
    _running: int = 0

    def start(self) -> None:
        self._running += 1
        if self._running == 1 and self.listener is not None:
            self.listener.start()

    def wait_listening(self, timeout: float) -> bool:
        """Block until the listener listens (at most ``timeout`` seconds); True at once without one."""
        return self.listener is None or self.listener.wait_until(True, timeout=timeout)

    def stop(self) -> None:
        self._running -= 1
        if self._running == 0 and self.listener is not None:
            self.listener.stop()
        if self._running == 0 and self.probe is not None:
            self.probe.close()


def worker_invalidation(engine: Engine) -> WorkerInvalidation:
    """The bus of one worker on ``engine``'s database, with the listener (PostgreSQL, started by the
    lifespan) or the data-version probe (SQLite file)."""
    bus = InvalidationBus()
    url = engine.url
    if url.get_backend_name() == "postgresql":
        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return WorkerInvalidation(bus, listener=Listener(conninfo, bus))
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        return WorkerInvalidation(bus, probe=SqliteProbe(url.database, bus))
    return WorkerInvalidation(bus)  # an in-memory database: never trusted, nothing cached


def install_fence(engine: Engine, *, bound: float) -> None:
    """After a COMMIT of a revoking change through ``engine``, wait for every worker (PostgreSQL)."""
    if engine.dialect.name != "postgresql":
        return
    _FENCES[engine] = PgFence(engine, bound=bound)
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _do_orm_execute)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)


def _revokes(session: Session, obj: Any) -> bool:
    """Could this pending change make a worker's cached copy let something through?"""
    if obj in session.deleted:
        return isinstance(obj, OAuthClient | OAuthGrant | RevokedToken | Account)
    if obj in session.new:
        return isinstance(obj, RevokedToken)
    if isinstance(obj, OAuthClient | OAuthGrant):
        return session.is_modified(obj)
    if isinstance(obj, Account):
        return bool(inspect(obj).attrs.disabled.history.has_changes())
    return False


def _after_flush(session: Session, _context: Any) -> None:
    if any(_revokes(session, obj) for obj in chain(session.new, session.dirty, session.deleted)):
        session.info[_PENDING] = True


def _do_orm_execute(state: ORMExecuteState) -> None:
    """Bulk ``UPDATE``/``DELETE`` (``revoke_grant``) changes rows the session does not hold."""
    if state.is_update or state.is_delete:
        mapper = state.bind_mapper
        if mapper is not None and mapper.class_ in (OAuthClient, OAuthGrant, RevokedToken):
            state.session.info[_PENDING] = True


def _after_commit(session: Session) -> None:
    if session.info.pop(_PENDING, False):
        bind = session.get_bind()
        fence = _FENCES.get(bind) if isinstance(bind, Engine) else None
        if fence is not None:
            fence()


def _after_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_PENDING, None)
