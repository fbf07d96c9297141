"""What every ``genba`` command shares: the consoles, ``--json``, one-line failures, settings, one
transaction per command (nothing half-written), the password hasher (issue 13 item 3: the CLI as a
package assembled with ``add_typer``; this module imports none of its siblings)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from sqlmodel import Session

from app import database
from app.settings import Settings, SettingsError, load_settings
from idp.public import FieldProblem, Passwords, parse_date

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print what was created as JSON")]


def fail(message: str) -> NoReturn:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(2)


def settings_or_fail() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(str(exc))


@contextmanager
def transaction(settings: Settings) -> Iterator[Session]:
    """One transaction: committed on success, rolled back (nothing stored) on any error."""
    engine = database.make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            try:
                yield session
                session.commit()
            except FieldProblem as problem:
                session.rollback()
                fail(f"{problem.field}: {problem.en} / {problem.ja}")
            except Exception:
                session.rollback()
                raise
    finally:
        engine.dispose()


def passwords_for(settings: Settings) -> Passwords:
    return Passwords(
        memory_kib=settings.argon2_memory_kib,
        time_cost=settings.argon2_time_cost,
        parallelism=settings.argon2_parallelism,
    )


def emit(as_json: bool, data: dict[str, Any], human: Callable[[], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
    else:
        human()


def parse_day(value: str, field: str) -> date:
    try:
        return parse_date(value, field=field)
    except FieldProblem as problem:
        fail(f"{problem.field}: {problem.en} / {problem.ja}")
