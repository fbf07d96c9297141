"""Files that hold personal data or secrets are created private to the service's user.

The SQLite database (and its ``-wal``/``-shm``/``-journal`` files, which SQLite creates with the
database file's mode), ``var/secret.key``, restored databases, backups and import reports: mode
0600, and directories this module creates 0700 (APPI 第23条 safety management; rule 7). SQLite
on its own creates a database 0644 — readable by every local user.

Directories that already exist are left as they are (an operator's ``/srv`` or ``/tmp`` must not
change under them); files that already exist with group or other bits are tightened.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("genba.app")

FILE_MODE = 0o600
DIR_MODE = 0o700
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> None:
    """Create ``path`` and its missing parents with mode 0700; existing ones are not changed."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process
            os.mkdir(directory, DIR_MODE)


def tighten(path: Path) -> None:
    """Remove group and other permissions from an existing file of ours (nothing if absent)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, mode & ~0o077)
    except FileNotFoundError:
        pass
    except PermissionError:  # someone else's file: report it, do not fail the service
        log.warning("%s is readable by other users and cannot be made private", path)


def private_file(path: Path) -> None:
    """Make sure ``path`` exists with mode 0600 (created empty if missing) in a private directory."""
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
    except FileExistsError:
        tighten(path)


def private_sqlite(path: Path) -> None:
    """The database file before SQLite opens it, so SQLite never creates it (or its companions) 0644."""
    private_file(path)
    for suffix in SQLITE_COMPANIONS:
        tighten(path.with_name(path.name + suffix))
