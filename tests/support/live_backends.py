"""A real ``genba serve`` process on SQLite or on a throw-away PostgreSQL database, for the HTTP tests
that must run on both backends (issue 12: the access-control matrix and the fuzzing).

PostgreSQL is required, as for the storage tests (tests/support/backends.py): if it does not
answer, the test fails, it never skips.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.support.backends import PG_ADMIN_URL
from tests.support.server import LiveServer, running_server


@contextmanager
def server_on(backend: str, tmp: Path, extra_env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """A migrated, running server on ``backend`` ("sqlite" or "postgresql"), with ``extra_env`` settings;
    stopped (and its database dropped) afterwards."""
    if backend == "sqlite":
        with running_server(tmp, extra_env) as server:
            yield server
        return
    assert backend == "postgresql", backend
    name = f"genba_l_{secrets.token_hex(6)}"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        raise RuntimeError(f"PostgreSQL is expected at {PG_ADMIN_URL} and did not answer: {exc}") from exc
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        with running_server(tmp, {**(extra_env or {}), "GENBA_DATABASE_URL": f"{base}/{name}"}) as server:
            yield server
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
