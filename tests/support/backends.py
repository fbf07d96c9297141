"""Database backends for the storage tests: a temporary SQLite file and a throw-away PostgreSQL database.

PostgreSQL is required: if it does not answer, the tests fail (they never skip).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import Engine, text
from sqlmodel import SQLModel

from app import database

PG_ADMIN_URL = os.environ.get("GENBA_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_conn() -> psycopg.Connection:
    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:  # fail loudly: PostgreSQL is part of the test contract
        raise RuntimeError(
            f"PostgreSQL is expected at {PG_ADMIN_URL} for the storage tests and did not answer: {exc}"
        ) from exc


@contextmanager
def database_url(backend: str, tmp: Path) -> Iterator[str]:
    """Yield a migrated, empty database URL for ``backend``; drop it afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'genba-test.sqlite3'}"
        database.upgrade(url)
        yield url
        return
    name = f"genba_t_{secrets.token_hex(6)}"
    with _pg_conn() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    url = f"{base}/{name}"
    try:
        database.upgrade(url)
        yield url
    finally:
        with _pg_conn() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def truncate_all(engine: Engine) -> None:
    """Empty every table between tests (keeps the migrated schema)."""
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))


def delete_all(engine: Engine) -> None:
    """Empty every table between tests like ``truncate_all``, with DELETE
    (PostgreSQL's TRUNCATE of ~45 tables takes about a second per test; DELETE of a test's few rows
    takes milliseconds) and the sequences restarted, so later tests see the same fresh state."""
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as conn:
        for table in tables:
            conn.execute(text(f'DELETE FROM "{table}"'))
        if engine.dialect.name == "postgresql":
            conn.execute(
                text(
                    "DO $$ DECLARE r record; BEGIN FOR r IN SELECT sequence_schema, sequence_name "
                    "FROM information_schema.sequences LOOP EXECUTE format('ALTER SEQUENCE %I.%I RESTART', "
                    "r.sequence_schema, r.sequence_name); END LOOP; END $$"
                )
            )
