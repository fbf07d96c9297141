"""Backup and restore of the whole database (``genba db backup | restore``).

SQLite is copied with the sqlite3 online backup API: one consistent snapshot, taken while the
service keeps running. PostgreSQL goes through ``pg_dump --format=custom`` and
``pg_restore --clean --if-exists``, with the connection details of ``GENBA_DATABASE_URL`` (the
password travels in ``PGPASSWORD``, never on a command line that ``ps`` shows).

A backup is written next to its final name with mode 0600 (it holds personal data and the
encrypted secrets) and only then moved into place, so a failed run never leaves a truncated
file under the name an operator would restore from. Every failure is one :class:`BackupError`
line for the CLI.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from app import database
from app.private_files import private_sqlite
from common.errors import GenbaError

#: Tables that hold bookkeeping, not data, in a freshly migrated database: Alembic's revision and
#: the consent record chain's head, which migration 0003 seeds with the all-zero hash.
BOOKKEEPING_TABLES = frozenset({"alembic_version", "chainhead"})
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"
TOOL_TIMEOUT_SECONDS = 6 * 3600


class BackupError(GenbaError):
    """Backup or restore cannot go on; the message is one line for the operator."""

    code = "backup_failed"


@dataclass(frozen=True)
class Result:
    backend: str  # "sqlite" | "postgresql"
    path: Path
    size: int
    revision: str | None  # the Alembic revision of the database backed up or restored


def backend_of(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"backups support sqlite and postgresql databases, not {name}")
    return name


# -- checks shared by both back ends ------------------------------------------------------------


def tables_with_rows(url: str) -> list[str]:
    """Application tables that hold at least one row (bookkeeping tables excepted)."""
    engine = database.make_engine(url)
    try:
        with engine.connect() as conn:
            names = sorted(set(inspect(conn).get_table_names()) - BOOKKEEPING_TABLES)
            preparer = conn.dialect.identifier_preparer
            return [
                name
                for name in names
                if conn.execute(text(f"SELECT 1 FROM {preparer.quote(name)} LIMIT 1")).first() is not None  # noqa: S608
            ]
    except SQLAlchemyError as exc:
        raise BackupError(f"cannot read the database: {_first_line(exc)}") from None
    finally:
        engine.dispose()


def _revision(url: str) -> str | None:
    try:
        return database.current_revision(url)
    except SQLAlchemyError as exc:
        raise BackupError(f"cannot read the database: {_first_line(exc)}") from None


def _first_line(exc: BaseException | str) -> str:
    message = str(exc).strip()
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


@contextmanager
def _staged(out: Path, *, force: bool) -> Iterator[Path]:
    """A 0600 temporary file beside ``out``; moved to ``out`` when the block succeeds, removed otherwise."""
    out = out.expanduser()
    if out.is_dir():
        raise BackupError(f"{out} is a directory; give a file name with --out")
    if out.exists() and not force:
        raise BackupError(f"{out} already exists; use --force to overwrite it")
    if not out.parent.is_dir():
        raise BackupError(f"{out.parent} does not exist")
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
    os.close(fd)
    staged = Path(name)
    try:
        yield staged
        if force:
            os.replace(staged, out)
        else:
            try:  # no-clobber: fails if ``out`` appeared since the check above
                os.link(staged, out)
            except FileExistsError:
                raise BackupError(f"{out} already exists; use --force to overwrite it") from None
    finally:
        with suppress(FileNotFoundError):
            staged.unlink()


def _input(path: Path) -> Path:
    path = path.expanduser()
    if not path.is_file():
        raise BackupError(f"{path} is not a readable file")
    return path


def _refuse_non_empty(url: str, *, force: bool) -> None:
    if force:
        return
    filled = tables_with_rows(url)
    if filled:
        shown = ", ".join(filled[:5]) + (f" and {len(filled) - 5} more tables" if len(filled) > 5 else "")
        raise BackupError(
            f"the database is not empty (rows in {shown}); "
            "restore into an empty database or use --force to replace its contents"
        )


# -- public entry points --------------------------------------------------------------------------


def backup(url: str, out: Path, *, force: bool = False) -> Result:
    """Write a consistent copy of the database at ``url`` to ``out``."""
    kind = backend_of(url)
    revision = _revision(url)
    with _staged(out, force=force) as staged:
        if kind == "sqlite":
            _sqlite_backup(_sqlite_path(url), staged)
        else:
            _pg_dump(url, staged)
        size = staged.stat().st_size
    return Result(kind, out.expanduser(), size, revision)


def restore(url: str, source: Path, *, force: bool = False) -> Result:
    """Replace the contents of the database at ``url`` with the backup ``source``.

    Refuses a database that holds data unless ``force``: restoring over live data loses it.
    """
    kind = backend_of(url)
    source = _input(source)
    with source.open("rb") as file:
        head = file.read(len(SQLITE_MAGIC))
    if kind == "sqlite":
        if not head.startswith(SQLITE_MAGIC):
            raise BackupError(f"{source} is not an SQLite backup (made by genba db backup on SQLite)")
        target = _sqlite_path(url)
        if target.exists():
            _refuse_non_empty(url, force=force)
        _sqlite_restore(source, target)
    else:
        if not head.startswith(PG_CUSTOM_MAGIC):
            raise BackupError(
                f"{source} is not a pg_dump custom-format archive (made by genba db backup on PostgreSQL)"
            )
        _refuse_non_empty(url, force=force)
        _pg_restore(url, source)
    return Result(kind, source, source.stat().st_size, _revision(url))


# -- SQLite ---------------------------------------------------------------------------------------


def _sqlite_path(url: str) -> Path:
    name = make_url(url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        raise BackupError("an in-memory or URI-style SQLite database cannot be backed up or restored")
    return Path(name)


def _sqlite_backup(path: Path, staged: Path) -> None:
    if not path.is_file():
        raise BackupError(f"the SQLite database {path} does not exist")
    try:
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            target = sqlite3.connect(staged)
            try:
                source.backup(target)  # all pages in one step: one consistent snapshot
                # A single self-contained file: no -wal/-shm beside the backup when it is read.
                target.execute("PRAGMA journal_mode=DELETE").fetchall()
                check = target.execute("PRAGMA quick_check").fetchone()
            finally:
                target.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite backup failed: {_first_line(exc)}") from None
    if check is None or check[0] != "ok":
        raise BackupError(f"SQLite backup failed its integrity check: {check}")


def _sqlite_restore(source: Path, target: Path) -> None:
    private_sqlite(target)  # a new database file is 0600, as the service creates it
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            check = src.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise BackupError(f"{source} fails SQLite's integrity check: {check}")
            dst = sqlite3.connect(target, timeout=30)
            try:
                src.backup(dst)  # replaces every page of the target in one transaction
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite restore failed: {_first_line(exc)}") from None


# -- PostgreSQL -----------------------------------------------------------------------------------


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found on PATH; install the PostgreSQL client tools (e.g. postgresql-client)")
    return found


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """The libpq connection URI (no password) and the environment carrying the password."""
    parsed: URL = make_url(url)
    password = parsed.password
    plain = parsed.set(drivername="postgresql", password=None)
    env = dict(os.environ)  # PGSSLROOTCERT, ~/.pgpass and the like still apply
    if password is not None:
        env["PGPASSWORD"] = str(password)
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    try:
        result = subprocess.run(  # noqa: S603 - fixed tool, arguments are not shell-parsed
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BackupError(f"{what} did not finish within {TOOL_TIMEOUT_SECONDS} s") from None
    if result.returncode != 0:
        raise BackupError(f"{what} failed (exit {result.returncode}): {_tool_error(result.stderr)}")


def _tool_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "fatal" in line.lower()]
    return (errors or lines or ["no message"])[0]


def _pg_dump(url: str, staged: Path) -> None:
    uri, env = libpq_target(url)
    command = [_tool("pg_dump"), "--format=custom", "--no-password", f"--file={staged}", f"--dbname={uri}"]
    _run(command, env, "pg_dump")


def _pg_restore(url: str, source: Path) -> None:
    uri, env = libpq_target(url)
    tool = _tool("pg_restore")
    _run([tool, "--list", str(source)], env, "pg_restore --list")  # a readable archive, before touching the database
    command = [
        tool,
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        "--no-password",
        f"--dbname={uri}",
        str(source),
    ]
    _run(command, env, "pg_restore")
