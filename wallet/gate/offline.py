"""Offline gate support (documented profile in docs/offline-gate.md): the sync bundle a gate needs to
verify with no network (pinned root, issuer keys, status lists, requirements, today's roster with
photos), and the upload of checks made offline — idempotent, so a queue replayed after a restart
loses nothing and duplicates nothing."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from wallet.gate.check import GateResult
from wallet.gate.ports import Entry
from wallet.gate.service import GateRuntime, record, refusal_recorded, requirements
from wallet.models import StatusList

router = APIRouter()
MAX_EVENTS = 1000


def _gate(request: Request) -> GateRuntime:
    runtime: GateRuntime = request.app.state.gate
    return runtime


def bundle(gate: GateRuntime, site_id: str, gate_id: str, *, employer_id: str) -> dict[str, Any]:
    wallet = gate.wallet
    now = wallet.clock()
    with Session(wallet.engine) as session:
        lists = session.exec(select(StatusList.id).order_by(col(StatusList.created_at))).all()
        reqs = requirements(session, gate, site_id)
    return {
        "version": 1,
        "site_id": site_id,
        "gate_id": gate_id,
        "generated_at": int(now.timestamp()),
        "issuer": wallet.config.issuer,
        "audience": gate.offline_audience(site_id, gate_id),
        "root_pem": wallet.keys.current(now).root_pem,
        "issuer_keys": wallet.keys.published(),
        "status_lists": {wallet.publisher.uri(i): wallet.publisher.token(i) for i in lists},
        "requirements": reqs,
        "roster": [e.__dict__ for e in gate.directory.roster(site_id, now=now, recipient_employer_id=employer_id)],
    }


@router.get("/gate/sync")
async def sync(request: Request, site_id: str, gate_id: str = "main") -> Response:
    gate = _gate(request)
    operator = gate.directory.operator(request)
    if operator is None or site_id not in operator.sites:
        return JSONResponse({"error": "access_denied"}, status_code=403)
    data = await run_in_threadpool(bundle, gate, site_id, gate_id[:40], employer_id=operator.employer_id)
    return JSONResponse(data, headers={"Cache-Control": "no-store"})


@router.post("/gate/events")
async def upload(request: Request) -> Response:
    """Checks made offline: ``[{event_key, site_id, gate_id, technician_id, direction, at, ok, reasons}]``.
    The same event uploaded twice is recorded once."""
    gate = _gate(request)
    operator = gate.directory.operator(request)
    try:
        events = json.loads(await request.body())
        if not isinstance(events, list) or len(events) > MAX_EVENTS:
            raise ValueError
    except ValueError:
        return JSONResponse({"error": "invalid_request", "error_description": "a JSON list of events"}, 400)
    if operator is None:
        return JSONResponse({"error": "access_denied"}, status_code=403)
    return await run_in_threadpool(_store, gate, events, operator.sites)


def _parse(event: Any, now: datetime) -> tuple[str, str, datetime, bool, str, GateResult] | None:
    """One uploaded event, or None when any part of it is not what the gate app sends."""
    if not isinstance(event, dict):
        return None
    try:
        site_id, gate_id = str(event["site_id"]), str(event.get("gate_id", "main"))[:40]
        at = datetime.fromtimestamp(int(event["at"]), tz=now.tzinfo)
        ok = bool(event.get("ok"))
        direction = str(event.get("direction", "in"))
        reasons = event.get("reasons", [])
        if not isinstance(reasons, list):
            return None
    except (KeyError, TypeError, ValueError, OverflowError, OSError):  # OverflowError/OSError: absurd times
        return None
    result = GateResult(
        ok=ok,
        reasons=[r for r in reasons if isinstance(r, dict)],
        technician_id=str(event.get("technician_id") or "")[:14] or None,
        event_key=str(event.get("event_key") or "")[:80] or None,
    )
    return site_id, gate_id, at, ok, direction, result


def _store(gate: GateRuntime, events: list[Any], sites: tuple[str, ...]) -> Response:
    """Every event stands alone: a bad one is counted as rejected, one whose work history the
    register refuses (not assigned to the site) is kept as an entry and counted, never lost."""
    now = gate.wallet.clock()
    counts = {"recorded": 0, "duplicate": 0, "refusals": 0, "rejected": 0, "history_refused": 0}
    entries: list[Entry] = []
    with Session(gate.wallet.engine) as session:
        for event in events:
            parsed = _parse(event, now)
            if parsed is None:
                counts["rejected"] += 1
                continue
            site_id, gate_id, at, ok, direction, result = parsed
            if site_id not in sites or direction not in ("in", "out"):
                counts["rejected"] += 1
                continue
            repeated = not ok and bool(result.event_key) and refusal_recorded(session, str(result.event_key))
            entry = record(
                session,
                gate,
                result,
                site_id=site_id,
                gate_id=gate_id,
                direction=direction,
                at=at,
                mode="offline",
                received_at=now,
            )
            if entry is not None:
                entries.append(entry)
            counts["duplicate" if repeated else "refusals" if not ok else "recorded" if entry else "duplicate"] += 1
        session.commit()
    for entry in entries:
        if not gate.directory.record(entry):
            counts["history_refused"] += 1
    return JSONResponse(counts, headers={"Cache-Control": "no-store"})
