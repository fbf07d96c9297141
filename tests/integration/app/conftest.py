"""Fixtures of the application tests: two workers on one database and the ``genba`` CLI beside them
(tests/support/workers.py; issue 14, "Caches that are never wrong for long")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from app.cli import cli
from tests.conftest import TEST_SECRET
from tests.support.clock import FrozenClock
from tests.support.workers import Worker, start_workers


@pytest.fixture
def workers(tmp_path: Path, db_url: str, clock: FrozenClock, db: Session) -> Iterator[list[Worker]]:
    # ``db`` is requested so the tables are emptied after the test
    with ExitStack() as stack:
        yield start_workers(stack, tmp_path, db_url, clock)


@pytest.fixture
def genba(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> Any:
    """``genba …`` in this process, on the workers' database, with the CLI's own engine."""
    monkeypatch.setenv("GENBA_DATABASE_URL", db_url)
    monkeypatch.setenv("GENBA_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("GENBA_ENVIRONMENT", "test")
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> dict[str, Any]:
        result = CliRunner().invoke(cli, [*args, "--json"])
        assert result.exit_code == 0, result.stderr + result.stdout
        answer: dict[str, Any] = json.loads(result.stdout)
        return answer

    return run
