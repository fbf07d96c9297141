"""app/private_files.py: data files 0600, directories it makes 0700, existing directories untouched."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.private_files import private_dir, private_file, private_sqlite


def _mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_missing_directories_are_made_private_and_existing_ones_left_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    private_dir(shared / "a" / "b")
    assert (_mode(shared), _mode(shared / "a"), _mode(shared / "a" / "b")) == ("0o755", "0o700", "0o700")


def test_a_new_file_is_0600_and_an_existing_readable_one_is_tightened(tmp_path: Path) -> None:
    private_file(tmp_path / "new")
    old = tmp_path / "old"
    old.write_text("kept")
    old.chmod(0o644)
    private_file(old)
    assert (_mode(tmp_path / "new"), _mode(old), old.read_text()) == ("0o600", "0o600", "kept")


def test_the_sqlite_companions_of_an_existing_database_are_tightened(tmp_path: Path) -> None:
    database = tmp_path / "genba.sqlite3"
    for path in (database, tmp_path / "genba.sqlite3-wal", tmp_path / "genba.sqlite3-shm"):
        path.write_bytes(b"")
        path.chmod(0o644)
    private_sqlite(database)
    assert {p.name: _mode(p) for p in tmp_path.iterdir()} == {
        "genba.sqlite3": "0o600",
        "genba.sqlite3-wal": "0o600",
        "genba.sqlite3-shm": "0o600",
    }
