"""Deleting expired rows, so that what anonymous callers make the service store stays bounded.

``GET /authorize``, ``POST /par``, ``POST /wallet/nonce`` and ``POST /login/passkey/options`` each
store a row for a caller who has proved nothing; failed sign-ins and DPoP proofs leave counters and
replay entries. Which rows are dead is decided where the tables live (idp/purge.py,
wallet/proofs.py); here they are deleted in batches of :data:`BATCH` rows, each batch its own short
transaction (no long lock, safe while serving, safe when several workers do it at once):

- every worker once before it serves (at most :data:`STARTUP_BATCHES` batches per table) and then
  every ``GENBA_PURGE_INTERVAL_SECONDS``;
- ``genba db purge`` for operators (everything, however much there is).

How fast such rows can be written in the first place is limited per client address by
app/ratelimit.py.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from idp.public import Clock, Expired, expired_rows
from wallet import proofs

log = logging.getLogger("genba.app")

BATCH = 1000
#: at start-up a worker deletes at most this many batches per table, then serves; the rest follow
STARTUP_BATCHES = 10


def purge(
    engine: Engine, *, now: datetime, throttle_window: timedelta, max_batches: int | None = None
) -> dict[str, int]:
    """Delete expired rows of every table that has them; the number deleted per table."""
    tables = [*expired_rows(now, throttle_window=throttle_window), Expired(*proofs.expired_nonces(now))]
    counts: dict[str, int] = {}
    for table in tables:
        total, batches = 0, 0
        while max_batches is None or batches < max_batches:
            ids = select(table.key).where(table.where).limit(BATCH).scalar_subquery()
            with Session(engine) as session:
                deleted = int(session.execute(delete(table.model).where(table.key.in_(ids))).rowcount)  # type: ignore[attr-defined]
                session.commit()
            total, batches = total + deleted, batches + 1
            if deleted < BATCH:
                break
        counts[str(table.model.__tablename__)] = total
    return counts


async def purge_logged(
    engine: Engine, clock: Clock, *, throttle_window: timedelta, max_batches: int | None = None
) -> None:
    """:func:`purge` off the event loop; a failure (the database is down) is logged, never raised."""
    try:
        counts = await run_in_threadpool(
            purge, engine, now=clock(), throttle_window=throttle_window, max_batches=max_batches
        )
    except Exception:
        log.exception("purging expired rows failed; the next round will try again")
        return
    if any(counts.values()):
        log.info("deleted expired rows: %s", ", ".join(f"{k} {v}" for k, v in counts.items() if v))


async def purge_periodically(engine: Engine, clock: Clock, *, every: int, throttle_window: timedelta) -> None:
    """A worker's housekeeping task (the lifespan has already run a bounded purge at start-up)."""
    while True:
        await asyncio.sleep(every)
        await purge_logged(engine, clock, throttle_window=throttle_window)
