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
from app.invalidation import install_fence
from app.settings import Settings, SettingsError, load_settings
from common.errors import GenbaError
from idp.public import FieldProblem, Passwords, parse_date

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print what was created as JSON")]


def one_line(problem: GenbaError) -> str:
    """The CLI's rendering of an error (issue 13 item 2): ``field: English / 日本語`` — the field at
    fault when there is one, the Japanese side when the message has one of its own."""
    text = problem.en if problem.ja == problem.en else f"{problem.en} / {problem.ja}"
    return f"{problem.field}: {text}" if problem.field else text


def fail(reason: str | GenbaError) -> NoReturn:
    """One line on stderr, exit status 2: the CLI's one place for failures."""
    err.print(f"error: {one_line(reason) if isinstance(reason, GenbaError) else reason}", markup=False)
    raise typer.Exit(2)


def settings_or_fail() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(exc)


@contextmanager
def transaction(settings: Settings) -> Iterator[Session]:
    """One transaction: committed on success, rolled back (nothing stored) on any error."""
    engine = database.make_engine(settings.database_url)
    # a revoking change returns only once every running worker has applied it (app/invalidation.py)
    install_fence(engine, bound=settings.cache_fence_seconds)
    try:
        with Session(engine) as session:
            try:
                yield session
                session.commit()
            except FieldProblem as problem:
                session.rollback()
                fail(problem)
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
        fail(problem)
