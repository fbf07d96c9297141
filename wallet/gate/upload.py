"""The upload of checks made offline (``POST /gate/events``, docs/offline-gate.md §5): work history only
from verified presentations (issue 12, hole 5).

A gate's word that someone was green is not recorded. Each green event carries the challenge the gate
showed (``GC1:``) and the wallet's presentation as read (``GP1`` frames); the server verifies it again
— issuer signature and chain, disclosures, key binding to this gate's audience and the challenge's
nonce with ``iat`` within the skew of the event's time, status, the site's requirement, card and
certificates of one holder, the issuer's own issuance records — and records the entry from its own
result, with that evidence, never from the uploaded ``technician_id``. The event's time must not be in
the future (beyond a small skew), its challenge must have been current then, and each nonce makes one
entry at most. Whether the day counts as 就業履歴 (the site's period, the technician's assignment) is
decided by the register (``GateDirectory.record``).

Each event names the staff who recorded it (``recorded_by``); events of anyone but the signed-in staff
are refused, so a shared tablet cannot upload the previous user's queue. The endpoint takes only
``application/json`` from this origin (wallet.gate.guard). Red results are recorded as refusals with
the gate's reasons (they make no history). Every event stands alone: a bad one is counted, not fatal,
and the same event uploaded twice is recorded once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from wallet.gate.check import GateResult, Trust, check
from wallet.gate.codec import Challenge, CodecError, decode_challenge, decode_presentation
from wallet.gate.guard import same_origin_json
from wallet.gate.models import GateEvent
from wallet.gate.offline_check import CHALLENGE_LIFETIME
from wallet.gate.ports import Entry, Operator
from wallet.gate.service import GateRuntime, live_trust, record, refusal_recorded, requirement

router = APIRouter()
MAX_EVENTS = 200
MAX_BODY = 8 * 1024 * 1024
#: how far ahead of the server's clock an event's time may be (a gate's clock a little fast)
FUTURE_SKEW = timedelta(minutes=5)


def _gate(request: Request) -> GateRuntime:
    runtime: GateRuntime = request.app.state.gate
    return runtime


def _error(status: int, error: str, description: str) -> Response:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers={"Cache-Control": "no-store"}
    )


@router.post("/gate/events")
async def upload(request: Request) -> Response:
    """``[{event_key, site_id, gate_id, direction, at, ok, reasons, recorded_by, challenge, presentation}]``."""
    gate = _gate(request)
    refused = same_origin_json(request, gate.wallet.config.issuer)
    if refused is not None:
        return refused
    body = await request.body()
    if len(body) > MAX_BODY:
        return _error(413, "invalid_request", f"at most {MAX_BODY} bytes per upload; send the queue in batches")
    try:
        events = json.loads(body)
        if not isinstance(events, list) or len(events) > MAX_EVENTS:
            raise ValueError
    except ValueError:
        return _error(400, "invalid_request", f"a JSON list of at most {MAX_EVENTS} events")
    operator = gate.directory.operator(request)
    if operator is None:
        return _error(403, "access_denied", "sign in as staff of the site's prime contractor")
    return await run_in_threadpool(_store, gate, events, operator)


@dataclass
class Uploaded:
    """One event as the gate page queued it; nothing in it is trusted."""

    site_id: str
    gate_id: str
    direction: str
    at: datetime
    ok: bool
    event_key: str | None
    recorded_by: str
    technician_id: str | None
    reasons: list[dict[str, str]] = field(default_factory=list)
    challenge: str | None = None
    frames: list[str] | None = None


def _parse(event: Any, now: datetime) -> Uploaded | None:
    """One uploaded event, or None when any part of it is not what the gate page sends."""
    if not isinstance(event, dict):
        return None
    try:
        site_id, gate_id = event["site_id"], str(event.get("gate_id", "main"))[:40]
        at = datetime.fromtimestamp(int(event["at"]), tz=now.tzinfo)
        reasons, frames, challenge = event.get("reasons", []), event.get("presentation"), event.get("challenge")
        direction, recorded_by = event.get("direction", "in"), event.get("recorded_by")
    except (KeyError, TypeError, ValueError, OverflowError, OSError):  # OverflowError/OSError: absurd times
        return None
    if not isinstance(site_id, str) or not isinstance(recorded_by, str) or not isinstance(reasons, list):
        return None
    if frames is not None and not (isinstance(frames, list) and all(isinstance(f, str) for f in frames)):
        return None
    return Uploaded(
        site_id=site_id,
        gate_id=gate_id,
        direction=str(direction),
        at=at,
        ok=event.get("ok") is True,
        event_key=str(event.get("event_key") or "")[:80] or None,
        recorded_by=recorded_by,
        technician_id=str(event.get("technician_id") or "")[:14] or None,
        reasons=[{k: str(r.get(k, ""))[:200] for k in ("code", "ja", "en")} for r in reasons if isinstance(r, dict)],
        challenge=challenge if isinstance(challenge, str) else None,
        frames=frames,
    )


def _unverified(event: Uploaded, code: str, ja: str, en: str, nonce: str | None = None) -> GateResult:
    """The gate said green, the server cannot confirm it: recorded as a refusal under the gate's key."""
    result = GateResult(ok=False, nonce=nonce, event_key=event.event_key)
    return result.refuse(code, ja, en)


#: why the server could not confirm a green event, before checking the presentation itself
NO_PRESENTATION = ("no_presentation", "提示の記録がありません", "the event carries no readable presentation")
WRONG_GATE = ("wrong_site", "この現場・ゲートのQRコードではありません", "the challenge is another gate's")
NOT_CURRENT = (
    "challenge_expired",
    "読み取り用QRコードの有効期限が切れていました",
    "the challenge was not current then",
)
OTHER_NONCE = (
    "invalid_kb_nonce",
    "このゲートへの提示ではありません（再提示）",
    "the presentation answers another challenge",
)


def reverify(gate: GateRuntime, session: Session, event: Uploaded, trust: Trust) -> tuple[GateResult, str]:
    """The server's own check of a green offline event (and the kind of work it was checked for)."""
    try:
        challenge: Challenge = decode_challenge(event.challenge or "")
    except CodecError:
        return _unverified(event, *NO_PRESENTATION), ""
    nonce = challenge.nonce[:64]
    if (challenge.site_id, challenge.gate_id) != (event.site_id, event.gate_id):
        return _unverified(event, *WRONG_GATE, nonce), ""
    age = event.at - datetime.fromtimestamp(challenge.time, tz=event.at.tzinfo)
    if not timedelta(minutes=-1) <= age <= CHALLENGE_LIFETIME:
        return _unverified(event, *NOT_CURRENT, nonce), ""
    try:
        presented_nonce, vp_token = decode_presentation(event.frames or [])
    except CodecError:
        return _unverified(event, *NO_PRESENTATION, nonce), ""
    if presented_nonce != challenge.nonce:
        return _unverified(event, *OTHER_NONCE, nonce), ""
    result = check(
        vp_token,
        dcql=requirement(session, gate, event.site_id, challenge.work_kind),
        nonce=challenge.nonce,
        aud=gate.offline_audience(event.site_id, event.gate_id),  # the server's, not the challenge's word
        now=event.at,
        trust=trust,
        site_id=event.site_id,
        gate_id=event.gate_id,
        direction=event.direction,
    )
    if not result.ok:
        result.event_key = event.event_key
    return result, challenge.work_kind


def _seen(session: Session, event_key: str | None) -> bool:
    if not event_key:
        return False
    if session.exec(select(GateEvent.id).where(col(GateEvent.event_key) == event_key)).first() is not None:
        return True
    return refusal_recorded(session, event_key)


def _store(gate: GateRuntime, events: list[Any], operator: Operator) -> Response:
    now = gate.wallet.clock()
    counts = {"recorded": 0, "duplicate": 0, "refusals": 0, "rejected": 0, "unverified": 0, "history_refused": 0}
    entries: list[Entry] = []
    trust = live_trust(gate, now)
    with Session(gate.wallet.engine) as session:
        for raw in events:
            event = _parse(raw, now)
            if (
                event is None
                or event.site_id not in operator.sites
                or event.direction not in ("in", "out")
                or event.recorded_by != operator.username  # another staff member's queue
                or event.at > now + FUTURE_SKEW
            ):
                counts["rejected"] += 1
                continue
            if _seen(session, event.event_key):  # a retry after a lost reply
                counts["duplicate"] += 1
                continue
            if event.ok:
                result, work_kind = reverify(gate, session, event, trust)
            else:
                result, work_kind = _gates_refusal(event), ""
            done = record(
                session,
                gate,
                result,
                site_id=event.site_id,
                gate_id=event.gate_id,
                direction=event.direction,
                at=event.at,
                mode="offline",
                received_at=now,
                recorded_by=operator.username,
                work_kind=work_kind or "general",
            )
            if done.entry is not None:
                entries.append(done.entry)
            if done.outcome == "duplicate":
                counts["duplicate"] += 1
            elif done.outcome == "recorded":
                counts["recorded"] += 1
            else:
                counts["unverified" if event.ok else "refusals"] += 1
        session.commit()
    for entry in entries:
        if not gate.directory.record(entry):
            counts["history_refused"] += 1
    return JSONResponse(counts, headers={"Cache-Control": "no-store"})


def _gates_refusal(event: Uploaded) -> GateResult:
    nonce: str | None = None
    if event.challenge:
        try:
            nonce = decode_challenge(event.challenge).nonce[:64]
        except CodecError:
            nonce = None
    return GateResult(
        ok=False, reasons=event.reasons, technician_id=event.technician_id, event_key=event.event_key, nonce=nonce
    )
