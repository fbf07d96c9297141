"""``genba db``: ``upgrade`` (migrations), ``backup --out FILE`` and ``restore --in FILE`` (app/backup.py) and
``purge`` (app/housekeeping.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from app import backup, database
from app.cli.common import JsonOpt, fail, out, settings_or_fail

db_cli = typer.Typer(help="Database migrations", no_args_is_help=True)


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations (safe to run again)."""
    settings = settings_or_fail()
    database.upgrade(settings.database_url)
    out.print(f"database at revision {database.current_revision(settings.database_url)}")


ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite / replace what is there")]


@db_cli.command("backup")
def db_backup(
    out_file: Annotated[Path, typer.Option("--out", help="Backup file to write (refused if it exists)")],
    force: ForceOpt = False,
) -> None:
    """Write a consistent backup: SQLite's online backup API, or pg_dump's custom format."""
    settings = settings_or_fail()
    try:
        result = backup.backup(settings.database_url, out_file, force=force)
    except backup.BackupError as exc:
        fail(exc)
    out.print(
        f"backed up the {result.backend} database (revision {result.revision}) to {result.path} ({result.size} bytes)",
        markup=False,
    )


@db_cli.command("restore")
def db_restore(
    in_file: Annotated[Path, typer.Option("--in", help="Backup file made by genba db backup")],
    force: Annotated[bool, typer.Option("--force", help="Replace the contents of a database that holds data")] = False,
) -> None:
    """Restore a backup into the configured database (refused if it holds data, unless --force).

    Stop the service first; afterwards run ``genba db upgrade`` if the backup is from an older release.
    """
    settings = settings_or_fail()
    try:
        result = backup.restore(settings.database_url, in_file, force=force)
    except backup.BackupError as exc:
        fail(exc)
    out.print(
        f"restored {result.path} into the {result.backend} database (now at revision {result.revision})",
        markup=False,
    )


@db_cli.command("purge")
def db_purge(as_json: JsonOpt = False) -> None:
    """Delete expired rows now (c_nonces, interactions, PAR, sessions, replay and throttle entries...).

    Every worker also does this by itself every GENBA_PURGE_INTERVAL_SECONDS; this is for operators
    who want it now, or who run with the interval at 0. Safe while the service runs.
    """
    from datetime import timedelta

    from app.housekeeping import purge
    from idp.public import system_clock

    settings = settings_or_fail()
    engine = database.make_engine(settings.database_url)
    try:
        counts = purge(engine, now=system_clock(), throttle_window=timedelta(seconds=settings.throttle_window_seconds))
    finally:
        engine.dispose()
    if as_json:
        sys.stdout.write(json.dumps(counts) + "\n")
        return
    out.print("deleted expired rows: " + ", ".join(f"{table} {count}" for table, count in counts.items()), markup=False)
