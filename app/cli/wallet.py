"""``genba credentials offer | list | revoke | suspend | resume | sync``."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from fastapi import FastAPI
from sqlmodel import Session, col, select

from app import database
from app.cli.common import JsonOpt, fail, out, settings_or_fail
from idp.public import system_clock
from wallet import status
from wallet.models import IssuedCredential

credentials_cli = typer.Typer(help="Verifiable credentials issued to technicians", no_args_is_help=True)


def _app() -> FastAPI:
    from app.factory import create_app

    return create_app(settings_or_fail())


@credentials_cli.command("offer")
def offer(
    technician_id: Annotated[str, typer.Option()],
    configuration: Annotated[list[str] | None, typer.Option(help="ccus_card, skill_training_certificate")] = None,
    no_tx_code: Annotated[bool, typer.Option("--no-tx-code")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a credential offer (QR / openid-credential-offer:// link); the tx_code goes by another channel."""
    from wallet.offers import create_offer

    app = _app()
    runtime = app.state.wallet
    with Session(runtime.engine) as session:
        new = create_offer(
            session,
            runtime,
            technician_id=technician_id,
            configuration_ids=list(configuration or ["ccus_card", "skill_training_certificate"]),
            with_tx_code=not no_tx_code,
        )
        session.commit()
    data = {"offer_uri": new.offer_uri, "link": new.link, "tx_code": new.tx_code}
    if as_json:
        sys.stdout.write(json.dumps(data) + "\n")
        return
    out.print(f"link: {new.link}\ntx_code (send separately): {new.tx_code}")


def _rows(session: Session, ids: list[str] | None, technician_id: str | None) -> list[IssuedCredential]:
    stmt = select(IssuedCredential)
    if ids:
        stmt = stmt.where(col(IssuedCredential.id).in_(ids))
    elif technician_id:
        stmt = stmt.where(col(IssuedCredential.technician_id) == technician_id)
    else:
        fail("name credentials with --id or --technician-id")
    return list(session.exec(stmt).all())


def _set(value: int, label: str, ids: list[str] | None, technician_id: str | None, reason: str, as_json: bool) -> None:
    settings = settings_or_fail()
    engine = database.make_engine(settings.database_url)
    with Session(engine) as session:
        rows = _rows(session, ids, technician_id)
        if not rows:
            fail("no such credentials")
        count = status.set_status(session, [r.id for r in rows], value, reason=reason, now=system_clock())
        session.commit()
    engine.dispose()
    if as_json:
        sys.stdout.write(json.dumps({"updated": count, "status": label}) + "\n")
    else:
        out.print(f"{label}: {count} credentials (published within one status list ttl)")


IdsOpt = Annotated[list[str] | None, typer.Option("--id", help="Credential id (repeat)")]
TechOpt = Annotated[str | None, typer.Option(help="All credentials of this technician")]
ReasonOpt = Annotated[str, typer.Option(help="Recorded reason")]


@credentials_cli.command("revoke")
def revoke(
    ids: IdsOpt = None, technician_id: TechOpt = None, reason: ReasonOpt = "operator", as_json: JsonOpt = False
) -> None:
    _set(status.INVALID, "revoked", ids, technician_id, reason, as_json)


@credentials_cli.command("suspend")
def suspend(
    ids: IdsOpt = None, technician_id: TechOpt = None, reason: ReasonOpt = "operator", as_json: JsonOpt = False
) -> None:
    _set(status.SUSPENDED, "suspended", ids, technician_id, reason, as_json)


@credentials_cli.command("resume")
def resume(
    ids: IdsOpt = None, technician_id: TechOpt = None, reason: ReasonOpt = "operator", as_json: JsonOpt = False
) -> None:
    """Lift a suspension (a revoked credential stays revoked)."""
    settings = settings_or_fail()
    engine = database.make_engine(settings.database_url)
    with Session(engine) as session:
        rows = [r for r in _rows(session, ids, technician_id) if r.status == status.SUSPENDED]
        count = (
            status.set_status(session, [r.id for r in rows], status.VALID, reason=reason, now=system_clock())
            if rows
            else 0
        )
        session.commit()
    engine.dispose()
    if as_json:
        sys.stdout.write(json.dumps({"updated": count, "status": "valid"}) + "\n")
    else:
        out.print(f"resumed: {count} credentials")


@credentials_cli.command("list")
def list_credentials(technician_id: TechOpt = None, as_json: JsonOpt = False) -> None:
    settings = settings_or_fail()
    engine = database.make_engine(settings.database_url)
    with Session(engine) as session:
        stmt = select(IssuedCredential)
        if technician_id:
            stmt = stmt.where(col(IssuedCredential.technician_id) == technician_id)
        data = [
            {
                "id": r.id,
                "technician_id": r.technician_id,
                "configuration": r.configuration_id,
                "subject": r.subject_ref,
                "status": {0: "valid", 1: "revoked", 2: "suspended"}.get(r.status),
                "issued_at": r.issued_at.isoformat(),
            }
            for r in session.exec(stmt).all()
        ]
    engine.dispose()
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        return
    for row in data:
        out.print(" ".join(f"{k}={v}" for k, v in row.items()))


@credentials_cli.command("sync")
def sync_cmd(as_json: JsonOpt = False) -> None:
    """Revoke credentials whose certificate was revoked or reissued at its source, or whose card's
    holder left the employer on it."""
    from wallet.sync import sync

    app = _app()
    runtime = app.state.wallet
    with Session(runtime.engine) as session:
        counts = sync(session, runtime.holders, now=system_clock())
        session.commit()
    if as_json:
        sys.stdout.write(json.dumps(dict(counts)) + "\n")
    else:
        out.print(f"sync: {dict(counts) or 'nothing to change'}")
