"""``genba source serve``, ``genba trust add|list|remove|import-source``, ``genba connectors import|quarantine``."""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from sqlmodel import Session, col, select

from app import database
from app.cli.common import JsonOpt, fail, out, settings_or_fail, transaction
from app.holders import RegisteredHolders
from app.private_files import private_file
from common import outbound
from connectors import pipeline, trust
from connectors.models import Quarantine
from connectors.sources.mynaportal.client import BulkSource, MyNaPortalClient
from idp.public import system_clock

source_cli = typer.Typer(
    help="The reference MyNaPortal-style source (a stand-in for the real one)", no_args_is_help=True
)
trust_cli = typer.Typer(help="Trust list of issuing bodies and their keys", no_args_is_help=True)
connectors_cli = typer.Typer(help="Import verified certificates", no_args_is_help=True)


def _when(value: str | None, field: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{field}: not an ISO date-time")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=system_clock().tzinfo)


def _json_arg(value: str, field: str) -> Any:
    try:
        return json.loads(Path(value[1:]).read_text() if value.startswith("@") else value)
    except (OSError, ValueError) as exc:
        fail(f"{field}: not readable JSON ({exc})")


@source_cli.command("serve")
def source_serve(
    port: Annotated[int, typer.Option()] = 8100,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    data_dir: Annotated[Path, typer.Option(help="Keys and client secret of the source")] = Path("var/source"),
    issuer: Annotated[str | None, typer.Option(help="Public URL of the source")] = None,
    fail_after: Annotated[int | None, typer.Option(help="Answer 500 after this many bulk pages (tests)")] = None,
    bulk: Annotated[int, typer.Option(help="Generated records served by the bulk API")] = 0,
) -> None:
    """Run the reference record-keeping body (its own process and port)."""
    # Imported here, not at the top: the source is a test counterpart (tools/), loaded only by this
    # command (the import contract's one exception, pyproject.toml).
    from tools.reference_source.cli import serve

    serve(data_dir, host, port, issuer or f"http://{host}:{port}", fail_after, bulk)


@trust_cli.command("add")
def trust_add(
    issuer_id: Annotated[str, typer.Option(help="Issuing body id")],
    name: Annotated[str, typer.Option(help="Issuing body name")],
    jwk: Annotated[str, typer.Option(help="Public JWK (JSON or @file)")],
    valid_from: Annotated[str | None, typer.Option(help="ISO date-time")] = None,
    valid_until: Annotated[str | None, typer.Option(help="ISO date-time")] = None,
    course: Annotated[
        list[str] | None,
        typer.Option(help="Course code the body may certify (repeat; required; replaces the body's list)"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Trust a body's key for the courses it is registered to teach (issue 12 item 9)."""
    settings = settings_or_fail()
    if not course:
        fail("course: list the courses this body may certify (--course CODE, repeatable)")
    key = _json_arg(jwk, "jwk")
    with transaction(settings) as session:
        try:
            row = trust.add(
                session=session,
                issuer_id=issuer_id,
                name=name,
                jwk=key,
                valid_from=_when(valid_from, "valid_from"),
                valid_until=_when(valid_until, "valid_until"),
                courses=list(course),
                actor="cli",
                now=system_clock(),
            )
        except trust.TrustError as exc:
            fail(f"jwk: {exc}")
        data = {"issuer_id": issuer_id, "kid": row.kid, "courses": sorted(set(course))}
    if as_json:
        sys.stdout.write(json.dumps(data) + "\n")
    else:
        out.print(f"trusted {issuer_id} key {data['kid']}")


@trust_cli.command("import-source")
def trust_import_source(
    url: Annotated[str, typer.Argument(help="Base URL of a source publishing /api/v1/bodies")], as_json: JsonOpt = False
) -> None:
    """Add every body, the courses it may certify and its keys, as a source publishes them (for the
    reference source; review before production use). A body published without courses is skipped."""
    settings = settings_or_fail()
    try:
        with outbound.client(settings.outbound_policy()) as http:  # issue 12 hole 6
            bodies = http.get(url.rstrip("/") + "/api/v1/bodies").raise_for_status().json()
    except (httpx.HTTPError, ValueError) as exc:
        fail(f"url: cannot read the bodies of {url} ({type(exc).__name__})")
    with transaction(settings) as session:
        try:
            rows, skipped = trust.add_published(
                session=session, bodies=bodies, actor=f"import:{url}", now=system_clock()
            )
        except trust.TrustError as exc:
            fail(str(exc))
        added = [{"issuer_id": row.issuer_id, "kid": row.kid} for row in rows]
    for body_id in skipped:
        out.print(f"skipped {body_id}: the source lists no courses for it", style="yellow")
    if as_json:
        sys.stdout.write(json.dumps(added) + "\n")
    else:
        out.print(f"trusted {len(added)} keys of {len({a['issuer_id'] for a in added})} bodies")


@trust_cli.command("list")
def trust_list(as_json: JsonOpt = False) -> None:
    settings = settings_or_fail()
    engine = database.make_engine(settings.database_url)
    with Session(engine) as session:
        rows = trust.listing(session)
    engine.dispose()
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return
    for row in rows:
        out.print(" ".join(f"{k}={v}" for k, v in row.items()))


@trust_cli.command("remove")
def trust_remove(
    issuer_id: Annotated[str, typer.Option()],
    kid: Annotated[str | None, typer.Option()] = None,
    as_json: JsonOpt = False,
) -> None:
    settings = settings_or_fail()
    with transaction(settings) as session:
        try:
            count = trust.remove(session=session, issuer_id=issuer_id, kid=kid, actor="cli", now=system_clock())
        except trust.TrustError as exc:
            fail(f"issuer_id: {exc}")
    if as_json:
        sys.stdout.write(json.dumps({"issuer_id": issuer_id, "removed_keys": count}) + "\n")
    else:
        out.print(f"removed {count} keys of {issuer_id}")


def _mynaportal(settings: Any) -> MyNaPortalClient:
    secret = settings.mynaportal_client_secret.get_secret_value() if settings.mynaportal_client_secret else ""
    return MyNaPortalClient(
        settings.mynaportal_url, settings.mynaportal_client_id, secret, http=outbound.client(settings.outbound_policy())
    )


@connectors_cli.command("import")
def connectors_import(
    source: Annotated[str, typer.Argument(help="mynaportal | signed-file")],
    file: Annotated[Path | None, typer.Option(help="signed-file: the JSON or CSV file")] = None,
    signature: Annotated[Path | None, typer.Option(help="signed-file: the detached JWS")] = None,
    restart: Annotated[bool, typer.Option("--restart", help="Start over instead of resuming")] = False,
    page_size: Annotated[int, typer.Option(min=1, max=1000)] = 500,
    report: Annotated[Path | None, typer.Option(help="Write the per-record report (JSON lines) here")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Bulk import with progress; resumes an interrupted run; per-record report at the end."""
    settings = settings_or_fail()
    engine = database.make_engine(settings.database_url)
    holders = RegisteredHolders(engine)
    if source == "signed-file":
        if file is None or signature is None:
            fail("signed-file needs --file and --signature")
        try:
            content, sig = file.read_bytes(), signature.read_text().strip()
        except OSError as exc:
            fail(f"file: cannot read ({exc.strerror})")
        with Session(engine) as session:
            outcomes = pipeline.import_signed_file(session, content, sig, holders=holders, now=system_clock())
        _report(outcomes, report, as_json, Counter(o.status for o in outcomes), run_id=None)
        return
    if source != "mynaportal":
        fail(f"source: unknown source {source!r} (mynaportal, signed-file)")
    bulk = BulkSource(_mynaportal(settings), limit=page_size)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:.0f} rec/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=out if not as_json else None, disable=as_json, transient=False) as progress:
        task = progress.add_task(f"import {source}", total=None, rate=0.0)
        started = system_clock()

        def on_batch(size: int, batch: Counter[str]) -> None:
            done = progress.tasks[0].completed + size
            elapsed = max((system_clock() - started).total_seconds(), 1e-6)
            progress.update(task, completed=done, rate=done / elapsed)
            if not as_json:  # one line per committed batch (what an interrupted run resumes after)
                out.print(f"batch committed: {size} records ({dict(batch)})", highlight=False)

        try:
            result = pipeline.bulk_import(
                engine, bulk, holders=holders, clock=system_clock, restart=restart, on_batch=on_batch
            )
        except pipeline.ImportFailed as exc:
            out.print(
                f"[red]import stopped:[/red] {exc.report.error}; committed batches are kept — run the same "
                "command again to resume",
                highlight=False,
            )
            raise typer.Exit(1) from None
    _report(result.outcomes, report, as_json, result.counts, run_id=result.run_id, resumed=result.resumed)


def _report(
    outcomes: list[pipeline.Outcome],
    path: Path | None,
    as_json: bool,
    counts: Counter[str],
    run_id: str | None,
    resumed: bool = False,
) -> None:
    lines = [json.dumps(o.__dict__, ensure_ascii=False) for o in outcomes]
    if path is not None:  # certificate numbers: personal data, so private to the operator
        private_file(path)
        path.write_text("\n".join(lines) + ("\n" if lines else ""))
    summary = {"run_id": run_id, "resumed": resumed, "counts": dict(counts)}
    if as_json:
        sys.stdout.write(json.dumps({**summary, "records": [o.__dict__ for o in outcomes]}, ensure_ascii=False) + "\n")
        return
    out.print(f"done: {dict(counts)}" + (f" (run {run_id}, resumed)" if resumed else ""))
    for o in outcomes:
        if o.status == "rejected":
            out.print(f"  rejected {o.certificate_number or o.record_id or '-'}: {o.reason_ja} / {o.reason_en}")


@connectors_cli.command("quarantine")
def connectors_quarantine(as_json: JsonOpt = False, limit: int = 200) -> None:
    """Records that failed verification, with their reasons (never imported)."""
    settings = settings_or_fail()
    engine = database.make_engine(settings.database_url)
    with Session(engine) as session:
        rows = session.exec(select(Quarantine).order_by(col(Quarantine.at).desc()).limit(limit)).all()
        data = [
            {
                "at": r.at.isoformat(),
                "source": r.source,
                "record_id": r.record_id,
                "issuer_id": r.issuer_id,
                "certificate_number": r.certificate_number,
                "technician_id": r.technician_id,
                "reason_code": r.reason_code,
                "reason": r.reason,
            }
            for r in rows
        ]
    engine.dispose()
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        return
    for row in data:
        out.print(f"{row['at']} {row['source']} {row['certificate_number'] or row['record_id']}: {row['reason']}")
