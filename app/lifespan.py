"""The application's lifespan: what runs in the background while a worker serves."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from app import housekeeping
from idp.public import Clock

log = logging.getLogger("genba.app")


#: how long a worker's start-up waits for its cache listener to listen (docs/operations.md "Worker caches")
LISTENING_WAIT_SECONDS = 5.0


def worker_lifespan(retry_seconds: int, threads: int, purge_seconds: int, clock: Clock) -> Any:
    """Background retries of back-channel logout deliveries while the app runs (0 disables); the
    worker's thread pool limited to ``threads`` (the database pool is sized for it); expired rows
    deleted before serving and every ``purge_seconds`` (0 disables; app/housekeeping.py)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        invalidation = getattr(app.state, "invalidation", None)
        if invalidation is not None:
            invalidation.start()  # the listener (PostgreSQL): until it listens, the caches are not believed
            # start serving with the caches believed and /readyz saying "listening", not a moment of
            # "database-fallback"; a database that does not answer delays start-up by the bound at most
            await anyio.to_thread.run_sync(invalidation.wait_listening, LISTENING_WAIT_SECONDS)
        tasks = [asyncio.create_task(_retry_logout(app, retry_seconds))] if retry_seconds > 0 else []
        if purge_seconds > 0:
            window = app.state.idp.config.throttle_window
            await housekeeping.purge_logged(
                app.state.engine, clock, throttle_window=window, max_batches=housekeeping.STARTUP_BATCHES
            )
            every = housekeeping.purge_periodically(
                app.state.engine, clock, every=purge_seconds, throttle_window=window
            )
            tasks.append(asyncio.create_task(every))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            if invalidation is not None:
                invalidation.stop()

    return lifespan


async def _retry_logout(app: FastAPI, every: int) -> None:
    from idp.oauth.public import deliver_now

    while True:
        await asyncio.sleep(every)
        try:
            await run_in_threadpool(deliver_now, app.state.oauth.services, app.state.oauth.poster)
        except Exception:  # keep retrying on the next tick; the error is logged
            log.exception("back-channel logout retry failed")
