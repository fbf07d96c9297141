"""The ``genba`` command line (typer), assembled here from one module per area with ``add_typer``
(issue 13 item 3): each module defines its own group and imports only ``app.cli.common``, so there
is no import circle and every command is registered by importing this package."""

from __future__ import annotations

import typer

from app.cli.admin import admin_cli
from app.cli.common import err, one_line
from app.cli.connectors import connectors_cli, source_cli, trust_cli
from app.cli.db import db_cli
from app.cli.gate import gate_cli
from app.cli.oauth import keys_cli
from app.cli.register import audit_cli
from app.cli.serve import demo, serve
from app.cli.wallet import credentials_cli
from app.settings import SettingsError

cli = typer.Typer(help="Genba ID (現場ID) command line", no_args_is_help=True, pretty_exceptions_enable=False)
cli.command()(serve)
cli.command()(demo)
cli.add_typer(db_cli, name="db")
cli.add_typer(admin_cli, name="admin")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(audit_cli, name="audit")
cli.add_typer(source_cli, name="source")
cli.add_typer(trust_cli, name="trust")
cli.add_typer(connectors_cli, name="connectors")
cli.add_typer(gate_cli, name="gate")
cli.add_typer(credentials_cli, name="credentials")


def main() -> None:
    try:
        cli()
    except SettingsError as exc:
        err.print(f"error: {one_line(exc)}", markup=False)
        raise SystemExit(2) from None
