"""PostgreSQL: each worker's listener of ``genba_invalidation`` and the writers' fence (issue 14,
"Caches that are never wrong for long"; docs/operations.md "Worker caches").

The listener is a dedicated psycopg connection in a daemon thread. It ``LISTEN``s, then empties the
worker's caches (anything may have changed while it was not listening), then trusts them; each
notification empties the row it names (app/migrations 0017 sends them from triggers, at COMMIT).
It reports on its own connection, as its ``application_name`` (``genba-cache:<worker>:<fence>``),
the last fence it has passed, and repeats that at least every ``HEARTBEAT_SECONDS``: the statement's
``query_start`` in ``pg_stat_activity`` is the listener's heartbeat. The worker believes its caches
only until ``LEASE_SECONDS`` after the last report it sent succeeded, so a listener that dies or is
cut off without noticing stops being believed within the lease; and a fence ignores a listener whose
last report is older than the lease, because that worker has stopped believing its caches by then.

The fence (:class:`PgFence`), run by a writer after it committed a revoking change: take a number from
the ``genba_fence`` sequence and ``NOTIFY`` it. Notifications arrive in commit order, so a listener
that has passed that number has applied the writer's changes; the fence waits until every live
listener has, or ``bound`` seconds.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable

import psycopg
from sqlalchemy import Engine, text

from common.invalidation import InvalidationBus

log = logging.getLogger("genba.cache")

CHANNEL = "genba_invalidation"
PREFIX = "genba-cache:"
#: how long a worker believes its caches after its listener last reported (and the fence trusts that)
LEASE_SECONDS = 1.5
#: how often an idle listener reports (well inside the lease)
HEARTBEAT_SECONDS = 0.5
#: how long after losing its connection the listener tries again
RETRY_SECONDS = 1.0


class Listener:
    """One worker's listener; it sets ``bus.probe`` and ``bus.describe`` (``/readyz``)."""

    def __init__(
        self,
        conninfo: str,
        bus: InvalidationBus,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        lease: float = LEASE_SECONDS,
        heartbeat: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.conninfo = conninfo
        self.bus = bus
        self.worker = secrets.token_hex(4)
        self._monotonic = monotonic
        self.lease = lease
        self._heartbeat = heartbeat
        self._listening = False
        self._trusted_until = 0.0
        self._sent = 0.0
        self._stop = threading.Event()
        self._retry_now = threading.Event()
        #: seconds between a lost connection and the next attempt
        self.retry = RETRY_SECONDS
        #: how many times the listener has started listening (each one emptied the caches)
        self.connections = 0
        self._warned = False
        self._thread: threading.Thread | None = None
        self._conn: psycopg.Connection | None = None
        #: the backend pid of the notification connection while it is up
        self.pid: int | None = None
        #: notified on every change of state (listening or not), for tests and ``/readyz`` watchers
        self.changed = threading.Condition()
        bus.probe = self.trusted
        bus.describe = self.describe

    def trusted(self) -> bool:
        return self._listening and self._monotonic() < self._trusted_until

    def describe(self) -> str:
        return "listening" if self.trusted() else "database-fallback"

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"genba-cache-{self.worker}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._retry_now.set()
        self._set_listening(False)
        if self._thread is not None and self._thread.is_alive():
            self._wake()
            self._thread.join(timeout=5)

    def reconnect_now(self) -> None:
        """Try again at once instead of after ``retry`` seconds."""
        self._retry_now.set()

    def _wake(self) -> None:
        """A notification of nothing, so a listener waiting for one sees it is stopped."""
        try:
            with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5) as conn:
                conn.execute("SELECT pg_notify(%s, '{}')", (CHANNEL,))
        except psycopg.Error:
            pass  # nothing to wake: it ends on its own within a heartbeat

    def wait_until(self, listening: bool, *, connections: int = 0, timeout: float = 10.0) -> bool:
        """Block until the listener is (or is not) listening, after at least ``connections``
        connections; for tests and start-up."""
        with self.changed:
            return self.changed.wait_for(
                lambda: self._listening == listening and self.connections >= connections, timeout=timeout
            )

    def _set_listening(self, value: bool) -> None:
        with self.changed:
            self._listening = value
            self.changed.notify_all()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except Exception as exc:  # the connection was lost or refused: read the database meanwhile
                if not self._stop.is_set():  # once per outage, not once per attempt
                    level = logging.DEBUG if self._warned else logging.WARNING
                    self._warned = True
                    log.log(level, "cache invalidation not listening (%s); reading the database", type(exc).__name__)
            finally:
                self._set_listening(False)
                self.pid = None
            self._retry_now.wait(self.retry)
            self._retry_now.clear()

    def _listen(self) -> None:
        with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5) as conn:
            self.pid = conn.info.backend_pid
            conn.execute(f"LISTEN {CHANNEL}")
            # fences numbered so far were taken after their writers committed, and so before this
            # LISTEN or with their notifications queued for it: the caches are emptied just below
            row = conn.execute("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM genba_fence").fetchone()
            applied = int(row[0]) if row else 0
            self.bus.clear()  # what was committed before LISTEN is read again from the database
            self._report(conn, applied)
            self.connections += 1
            self._warned = False
            self._set_listening(True)
            log.info("cache invalidation listening (worker %s)", self.worker)
            while not self._stop.is_set():
                passed = applied
                due = self._sent + self._heartbeat
                for notice in conn.notifies(timeout=max(0.0, due - self._monotonic()), stop_after=1):
                    passed = max(passed, self._apply(notice.payload))
                if passed > applied or self._monotonic() >= due:
                    applied = passed
                    self._report(conn, applied)

    def _apply(self, payload: str) -> int:
        """Empty what a notification names; the fence number it carries, or 0."""
        try:
            notice = json.loads(payload)
        except ValueError:
            return 0
        if "f" in notice:
            return int(notice["f"])
        if "t" not in notice:
            return 0  # a wake-up (``stop``)
        key = notice.get("k")
        self.bus.publish(str(notice.get("t")), None if key is None else str(key))
        return 0

    def _report(self, conn: psycopg.Connection, applied: int) -> None:
        sent = self._monotonic()
        conn.execute("SELECT set_config('application_name', %s, false)", (f"{PREFIX}{self.worker}:{applied}",))
        self._sent, self._trusted_until = sent, sent + self.lease


class PgFence:
    """Wait until every live worker has applied what this process committed (at most ``bound`` s)."""

    def __init__(
        self,
        engine: Engine,
        *,
        bound: float,
        lease: float = LEASE_SECONDS,
        poll: float = 0.005,
        monotonic: Callable[[], float] = time.monotonic,
        wait: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine = engine
        self.bound = bound
        self.lease = lease
        self.poll = poll
        self._monotonic = monotonic
        self._wait = wait

    def __call__(self) -> bool:
        """True once every listener whose heartbeat is inside the lease has passed this fence;
        False (logged) when ``bound`` ran out first."""
        deadline = self._monotonic() + self.bound
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            number = conn.execute(
                text(
                    "SELECT s.f, pg_notify(:channel, json_build_object('f', s.f)::text) "
                    "FROM (SELECT nextval('genba_fence') AS f) s"
                ),
                {"channel": CHANNEL},
            ).scalar_one()
            while True:
                behind = self.behind(conn, int(number))
                if not behind:
                    return True
                if self._monotonic() >= deadline:
                    log.warning("cache fence %s: %d worker(s) did not confirm within %ss", number, behind, self.bound)
                    return False
                self._wait(self.poll)

    def behind(self, conn: object, number: int) -> int:
        """How many live listeners have not yet passed fence ``number``."""
        rows = conn.execute(  # type: ignore[attr-defined]
            text(
                "SELECT application_name FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name LIKE :prefix AND query_start > clock_timestamp() - make_interval(secs => :lease)"
            ),
            {"prefix": PREFIX + "%", "lease": self.lease},
        ).all()
        return sum(1 for (name,) in rows if _applied(name) < number)


def _applied(application_name: str) -> int:
    try:
        return int(application_name.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return 0
