"""``genba gate requirement set|show`` and ``genba gate verify`` (for card-reader-style integrations)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlmodel import Session

from app.cli.common import JsonOpt, err, fail, out, settings_or_fail
from idp.public import system_clock
from wallet.gate.codec import CodecError, decode_challenge

gate_cli = typer.Typer(help="Site gates: requirements and verification", no_args_is_help=True)
requirement_cli = typer.Typer(help="What must be shown at a site (DCQL)", no_args_is_help=True)
gate_cli.add_typer(requirement_cli, name="requirement")


def _gate() -> Any:
    from app.factory import create_app

    return create_app(settings_or_fail()).state.gate


@requirement_cli.command("set")
def requirement_set(
    site: Annotated[str, typer.Option()],
    work_kind: Annotated[str, typer.Option()],
    dcql: Annotated[str, typer.Option(help="DCQL query (JSON or @file)")],
    label_ja: Annotated[str, typer.Option()] = "",
    label_en: Annotated[str, typer.Option()] = "",
    as_json: JsonOpt = False,
) -> None:
    from wallet.gate.service import set_requirement

    try:
        query = json.loads(Path(dcql[1:]).read_text() if dcql.startswith("@") else dcql)
    except (OSError, ValueError) as exc:
        fail(f"dcql: not readable JSON ({exc})")
    gate = _gate()
    if not gate.directory.site_exists(site):
        fail(f"site: {site} is not registered")
    with Session(gate.wallet.engine) as session:
        try:
            set_requirement(
                session,
                site_id=site,
                work_kind=work_kind,
                label_ja=label_ja or work_kind,
                label_en=label_en or work_kind,
                dcql=query,
                by="cli",
                now=system_clock(),
            )
        except ValueError as exc:
            fail(f"dcql: {exc}")
        session.commit()
    if as_json:
        sys.stdout.write(json.dumps({"site": site, "work_kind": work_kind}) + "\n")
    else:
        out.print(f"requirement for {work_kind} at {site} saved")


@requirement_cli.command("show")
def requirement_show(site: Annotated[str, typer.Option()]) -> None:
    from wallet.gate.service import requirements

    gate = _gate()
    with Session(gate.wallet.engine) as session:
        sys.stdout.write(json.dumps(requirements(session, gate, site), ensure_ascii=False, indent=2) + "\n")


REPLAY_MESSAGE = "再提示です。この提示はすでに使われています / replay: this presentation was already used"


@gate_cli.command("verify")
def verify(
    challenge: Annotated[str, typer.Option(help="The GC1: challenge the gate showed")],
    direction: Annotated[str, typer.Option(help="in | out")] = "in",
    bundle: Annotated[Path | None, typer.Option(help="Verify offline against this sync bundle (JSON)")] = None,
    used_nonces: Annotated[
        Path | None, typer.Option(help="With --bundle: the file of challenges already answered (default: beside it)")
    ] = None,
) -> None:
    """Read presentation QR frames (GP1...) from stdin, one per line; print the result as JSON.
    Exit 0 for green, 1 for red. Without --bundle, verify against this server's data and record it.

    A challenge is answered once (issue 12, hole 7): the same presentation read again for it is a
    replay, red with a one-line message on stderr, and (against the server) recorded as a refusal."""
    from wallet.gate.offline import bundle as make_bundle
    from wallet.gate.offline_check import verify_offline

    try:
        parsed = decode_challenge(challenge.strip())
    except CodecError as exc:
        fail(f"challenge: {exc}")
    if direction not in ("in", "out"):
        fail("direction: in or out")
    frames = [line.strip() for line in sys.stdin if line.strip()]
    now = system_clock()
    if bundle is not None:
        try:
            data = json.loads(bundle.read_text())
        except (OSError, ValueError) as exc:
            fail(f"bundle: not readable ({exc})")
        from wallet.gate.nonce_log import consume

        log = used_nonces or bundle.with_name(bundle.name + ".used-nonces")
        try:
            fresh = consume(log, parsed.nonce, now=now)
        except OSError as exc:
            fail(f"used-nonces: cannot write {log} ({exc})")
        result = verify_offline(frames, parsed, data, now=now, direction=direction)
        if not fresh:
            result.ok, result.reasons = False, [dict(_replayed())]
    else:
        result = _verify_and_record(parsed, frames, direction, now, make_bundle, verify_offline)
    replayed = any(r.get("code") == "replayed" for r in result.reasons)
    sys.stdout.write(
        json.dumps(
            {
                "ok": result.ok,
                "reasons": result.reasons,
                "technician_id": result.technician_id,
                "name": result.name,
                "level": result.level,
            },
            ensure_ascii=False,
        )
        + "\n"
    )
    if replayed:
        err.print(REPLAY_MESSAGE, markup=False)
    raise typer.Exit(0 if result.ok else 1)


def _replayed() -> dict[str, str]:
    from wallet.gate.service import REPLAYED

    return REPLAYED


def _verify_and_record(parsed: Any, frames: list[str], direction: str, now: Any, make_bundle: Any, check: Any) -> Any:
    """Against the server: the challenge's nonce must be unused, the issuer's records are consulted,
    and the result (green or red) is recorded, so the challenge cannot be answered again."""
    from wallet.gate.check import GateResult
    from wallet.gate.service import live_trust, nonce_used, record

    gate = _gate()
    with Session(gate.wallet.engine) as session:
        used = nonce_used(session, parsed.nonce)
    if used:
        result = GateResult(ok=False, nonce=parsed.nonce, reasons=[dict(_replayed())])
    else:
        data = make_bundle(gate, parsed.site_id, parsed.gate_id, employer_id="")
        result = check(frames, parsed, data, now=now, direction=direction, issued=live_trust(gate, now).issued)
    with Session(gate.wallet.engine) as session:
        done = record(
            session,
            gate,
            result,
            site_id=parsed.site_id,
            gate_id=parsed.gate_id,
            direction=direction,
            at=now,
            mode="reader",
            received_at=now,
            recorded_by="cli",
            work_kind=parsed.work_kind,
            retry_is_duplicate=False,
        )
        session.commit()
    if done.entry is not None:
        gate.directory.record(done.entry)
    return result
