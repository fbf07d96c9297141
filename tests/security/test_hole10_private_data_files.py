"""Hole 10 (second pass): the SQLite database was created world-readable (0644) while
``var/secret.key`` was 0600 — every local user could copy every technician's record.

The database, its -wal/-shm files, restored databases and ``var/`` itself are private to the
service's user (0600 files, 0700 directory), whatever the umask lets through.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import LiveServer, run_genba


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """The common default umask (022): without the fix, new files come out 0644."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _genba(cwd: Path, *args: str) -> None:
    """The real CLI with the defaults of a fresh checkout (no GENBA_* settings) in ``cwd``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GENBA_")}
    run_genba(env | {"GENBA_ENVIRONMENT": "development"}, cwd, *args)


def test_the_running_servers_database_files_are_private(server: LiveServer) -> None:
    """Rule 7 / APPI 第23条 (安全管理措置): no other local user can read the database or its WAL."""
    assert httpx.get(server.url("/readyz"), timeout=30).status_code == 200
    database = Path(server.env["GENBA_DATABASE_URL"].removeprefix("sqlite:///"))
    files = [database, *(database.with_name(database.name + s) for s in ("-wal", "-shm"))]
    assert {path.name: oct(_mode(path)) for path in files} == {path.name: "0o600" for path in files}


def test_var_the_database_secret_and_restored_databases_are_private(tmp_path: Path, permissive_umask: None) -> None:
    """The defaults of a fresh checkout: ``var/genba.sqlite3`` and ``var/secret.key`` in a private ``var/``;
    ``genba db backup`` and ``genba db restore`` keep the copies private too."""
    _genba(tmp_path, "db", "upgrade")
    _genba(tmp_path, "keys", "rotate", "--json")  # reads the master secret: var/secret.key is made
    var = tmp_path / "var"
    assert oct(_mode(var)) == "0o700"
    assert oct(_mode(var / "genba.sqlite3")) == "0o600"
    assert oct(_mode(var / "secret.key")) == "0o600"

    _genba(tmp_path, "db", "backup", "--out", str(tmp_path / "backup.sqlite3"))
    assert oct(_mode(tmp_path / "backup.sqlite3")) == "0o600"
    (var / "genba.sqlite3").unlink()
    _genba(tmp_path, "db", "restore", "--in", str(tmp_path / "backup.sqlite3"))
    assert oct(_mode(var / "genba.sqlite3")) == "0o600"
