"""How a worker learns of changes to what it caches (app/invalidation.py, app/invalidation_pg.py; issue 14,
"Caches that are never wrong for long"; docs/operations.md "Worker caches"): a warm worker answers from
its caches without reading the cached tables; a worker whose notification connection is cut reads the
database, still refuses what was revoked, says so in ``/readyz`` and recovers when it reconnects; the
writers' fence waits for a live worker that has not confirmed, at most its bound.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy import Engine, event

from app.invalidation_pg import PREFIX, PgFence
from tests.support.backends import PG_ADMIN_URL
from tests.support.workers import Worker, scene, userinfo, warm

CACHED_TABLES = ("oauthclient", "oauthgrant", "revokedtoken")


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every statement ``engine`` runs while the block runs."""
    seen: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def reads_of_cached_tables(seen: list[str]) -> list[str]:
    return [s for s in seen if s.lstrip().upper().startswith("SELECT") and any(t in s for t in CACHED_TABLES)]


def test_a_warm_worker_answers_from_its_caches(workers: list[Worker], db_url: str) -> None:
    """Issue 14 "a cache hit must not touch the database": once warm, userinfo and introspection read
    none of the client, grant and revoked-token tables; ``/readyz`` says how the worker learns of
    changes, and the provider says its caches may be believed (``hot_ready``)."""
    s = scene(workers)
    worker = workers[1]
    listener = worker.app.state.invalidation.listener
    if listener is not None:
        listener.lease = 3600.0  # a loaded test machine must not starve the heartbeat into a fallback here
    warm(workers, lambda w: userinfo(w, s.access_token), 200)
    auth = (s.rp.client_id, s.rp.client_secret or "")
    worker.api.post("/introspect", data={"token": s.access_token}, auth=auth)
    with statements(worker.engine) as seen:
        assert userinfo(worker, s.access_token) == 200
        introspected = worker.api.post("/introspect", data={"token": s.access_token}, auth=auth)
        assert introspected.json()["active"] is True
    assert reads_of_cached_tables(seen) == []
    assert worker.app.state.oauth.services.hot_ready() is True
    expected = "listening" if db_url.startswith("postgresql") else "data-version"
    assert worker.api.get("/readyz").json()["checks"]["invalidation"] == expected


def test_a_cut_notification_connection_falls_back_to_the_database(workers: list[Worker], db_url: str) -> None:
    """Issue 14: "a worker whose notification connection is cut falls back to the database and says so
    in /readyz". Its listener's backend is terminated: the worker stops believing its caches (still
    ready, answering 200), refuses a token revoked meanwhile by reading the database, and on
    reconnecting empties its caches and listens again."""
    if not db_url.startswith("postgresql"):
        return  # SQLite has no notification connection to cut (covered on the PostgreSQL run)
    s = scene(workers)
    worker = workers[1]
    listener = worker.app.state.invalidation.listener
    warm(workers, lambda w: userinfo(w, s.access_token), 200)
    listener.retry = 3600.0  # stays cut until told to reconnect
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (listener.pid,))
    assert listener.wait_until(False)
    ready = worker.api.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["invalidation"] == "database-fallback"
    assert worker.app.state.oauth.services.hot_ready() is False

    auth = (s.rp.client_id, s.rp.client_secret or "")
    assert workers[0].api.post("/revoke", data={"token": s.access_token}, auth=auth).status_code == 200
    with statements(worker.engine) as seen:
        assert userinfo(worker, s.access_token) == 401
    assert reads_of_cached_tables(seen) != []  # it read the database

    listener.reconnect_now()
    assert listener.wait_until(True, connections=2)
    caches = worker.app.state.oauth.services.caches
    assert len(caches.grants) == len(caches.revoked) == 0  # anything may have changed while cut
    assert worker.api.get("/readyz").json()["checks"]["invalidation"] == "listening"
    assert userinfo(worker, s.access_token) == 401


def test_the_fence_waits_for_live_workers_at_most_its_bound(workers: list[Worker], db_url: str) -> None:
    """Issue 14 write-side fence: with every live worker listening, the fence returns as soon as they
    have applied it; a live listener that never confirms (here a connection that says it is one and
    then does nothing) holds the writer for the bound and no longer, and not at all once its last
    report is older than the lease (injected clock: nothing sleeps)."""
    if not db_url.startswith("postgresql"):
        return  # SQLite: one process reads the file's data version before believing a cache, no fence
    engine = workers[0].engine
    assert PgFence(engine, bound=2.0)() is True
    now = [0.0]

    def wait(seconds: float) -> None:
        now[0] += seconds

    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as stuck:
        stuck.execute("SELECT set_config('application_name', %s, false)", (f"{PREFIX}stuck:0",))
        fence = PgFence(engine, bound=2.0, poll=0.25, lease=3600.0, monotonic=lambda: now[0], wait=wait)
        assert fence() is False
        assert 2.0 <= now[0] < 2.25 + 1e-9
        # a listener that has not reported within the lease is not waited for: its worker has stopped
        # believing its caches (here a lease of 0 s, which every earlier report is outside of)
        now[0] = 0.0
        assert PgFence(engine, bound=2.0, lease=0.0, monotonic=lambda: now[0], wait=wait)() is True
        assert now[0] == 0.0
    assert PgFence(engine, bound=2.0)() is True  # the stuck one is gone: nothing to wait for
