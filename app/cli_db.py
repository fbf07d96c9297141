"""``genba db backup --out FILE`` and ``genba db restore --in FILE`` (app/backup.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app import backup
from app.cli import db_cli, fail, out, settings_or_fail

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
        fail(str(exc))
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
        fail(str(exc))
    out.print(
        f"restored {result.path} into the {result.backend} database (now at revision {result.revision})",
        markup=False,
    )
