"""Offline gate support (documented profile in docs/offline-gate.md): the sync bundle a gate needs to
verify with no network (pinned root, status-list signing keys, status lists, requirements, today's
roster with photos). The upload of the checks made offline is wallet.gate.upload."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from wallet.gate import upload
from wallet.gate.guard import same_origin
from wallet.gate.service import GateRuntime, requirements
from wallet.models import StatusList

router = APIRouter()
router.include_router(upload.router)  # POST /gate/events, mounted with this router (app.factory)


def _gate(request: Request) -> GateRuntime:
    runtime: GateRuntime = request.app.state.gate
    return runtime


def bundle(gate: GateRuntime, site_id: str, gate_id: str, *, employer_id: str, synced_by: str = "") -> dict[str, Any]:
    """``site_name``, ``prime_name`` and ``synced_by`` (the staff member's display name) let the tablet
    show names, not codes, with no network (issue 15, item 6)."""
    wallet = gate.wallet
    now = wallet.clock()
    named = gate.directory.site_name(site_id)
    with Session(wallet.engine) as session:
        lists = session.exec(select(StatusList.id).order_by(col(StatusList.created_at))).all()
        reqs = requirements(session, gate, site_id)
    return {
        "version": 1,
        "site_id": site_id,
        "site_name": named.name if named else "",
        "prime_name": named.prime_name if named else "",
        "gate_id": gate_id,
        "synced_by": synced_by,
        "generated_at": int(now.timestamp()),
        "issuer": wallet.config.issuer,
        "audience": gate.offline_audience(site_id, gate_id),
        "root_pem": wallet.keys.current(now).root_pem,
        # status lists are accepted only from keys in their use period (a retired key signs nothing)
        "issuer_keys": wallet.keys.signing(now),
        "status_lists": {wallet.publisher.uri(i): wallet.publisher.token(i) for i in lists},
        "requirements": reqs,
        "roster": [e.__dict__ for e in gate.directory.roster(site_id, now=now, recipient_employer_id=employer_id)],
    }


@router.get("/gate/sync")
async def sync(request: Request, site_id: str, gate_id: str = "main") -> Response:
    """The bundle: a disclosure of the roster to the prime contractor, so never for another site's page."""
    gate = _gate(request)
    refused = same_origin(request, gate.wallet.config.issuer)
    if refused is not None:
        return refused
    operator = gate.directory.operator(request)
    if operator is None or site_id not in operator.sites:
        return JSONResponse({"error": "access_denied"}, status_code=403)
    data = await run_in_threadpool(
        bundle, gate, site_id, gate_id[:40], employer_id=operator.employer_id, synced_by=operator.display_name
    )
    return JSONResponse(data, headers={"Cache-Control": "no-store"})
