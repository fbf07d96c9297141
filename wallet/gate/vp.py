"""Online presentation at the gate with OpenID for Verifiable Presentations 1.0: the gate shows a QR
with a request by reference (signed request object, ``direct_post``, 128-bit nonce); the wallet posts
the ``vp_token``; the gate page reads the result. Key binding ``aud`` is the full client_id; each
request (and so its nonce) is answered once."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, quote

import segno
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from joserfc import jwt
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from wallet.gate.check import check
from wallet.gate.guard import same_origin_json
from wallet.gate.models import GateRequest
from wallet.gate.service import GateRuntime, live_trust, record, requirement
from wallet.sdjwt import REGISTRY

router = APIRouter()
REQUEST_LIFETIME = timedelta(minutes=5)


def _gate(request: Request) -> GateRuntime:
    runtime: GateRuntime = request.app.state.gate
    return runtime


def _error(status: int, error: str, description: str) -> Response:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers={"Cache-Control": "no-store"}
    )


@router.post("/gate/requests")
async def create_request(request: Request) -> Response:
    """Gate page: a new request for one check; answers the QR (request by reference) to show."""
    gate = _gate(request)
    refused = same_origin_json(request, gate.wallet.config.issuer)
    if refused is not None:
        return refused
    operator = gate.directory.operator(request)
    try:
        body = json.loads(await request.body())
        site_id, gate_id = str(body["site_id"]), str(body.get("gate_id", "main"))[:40]
        work_kind, direction = str(body.get("work_kind", "general")), str(body.get("direction", "in"))
    except (ValueError, KeyError, TypeError):
        return _error(400, "invalid_request", "site_id, gate_id, work_kind and direction are expected")
    if operator is None or site_id not in operator.sites:
        return _error(403, "access_denied", "this user does not run a gate on this site")
    if direction not in ("in", "out"):
        return _error(400, "invalid_request", "direction is in or out")
    now = gate.wallet.clock()
    row = GateRequest(
        id=secrets.token_urlsafe(24),
        site_id=site_id,
        gate_id=gate_id,
        work_kind=work_kind,
        direction=direction,
        nonce=secrets.token_urlsafe(16),
        state=secrets.token_urlsafe(16),
        created_at=now,
        expires_at=now + REQUEST_LIFETIME,
        created_by=operator.username,
    )
    with Session(gate.wallet.engine, expire_on_commit=False) as session:
        session.add(row)
        session.commit()
    issuer = gate.wallet.config.issuer
    request_uri = f"{issuer}/gate/requests/{row.id}/object"
    link = f"openid4vp://?client_id={quote(gate.client_id, safe='')}&request_uri={quote(request_uri, safe='')}"
    return JSONResponse(
        {"request_id": row.id, "link": link, "qr_svg": str(segno.make(link, error="m").svg_inline(scale=4))},
        headers={"Cache-Control": "no-store"},
    )


@router.get("/gate/requests/{request_id}/object")
def request_object(request_id: str, request: Request) -> Response:
    """§5.7: the signed request object (``typ`` oauth-authz-req+jwt, ``x5c`` naming this host)."""
    gate = _gate(request)
    now = gate.wallet.clock()
    with Session(gate.wallet.engine) as session:
        row = session.get(GateRequest, request_id)
        if row is None or row.expires_at <= now or row.answered_at is not None:
            return _error(404, "invalid_request_uri", "this presentation request is unknown, answered or expired")
        dcql = requirement(session, gate, row.site_id, row.work_kind)
    issuer = gate.wallet.config.issuer
    named = gate.directory.site_name(row.site_id)
    claims: dict[str, Any] = {
        "iss": gate.client_id,
        "aud": "https://self-issued.me/v2",
        "client_id": gate.client_id,
        "response_type": "vp_token",
        "response_mode": "direct_post",
        "response_uri": f"{issuer}/gate/responses/{row.id}",
        "nonce": row.nonce,
        "state": row.state,
        "dcql_query": dcql,
        "client_metadata": client_metadata(named.name if named else row.site_id, named.prime_name if named else ""),
        "iat": int(now.timestamp()),
        "exp": int(row.expires_at.timestamp()),
    }
    keys = gate.wallet.keys.verifier(now)
    token = jwt.encode(
        {"typ": "oauth-authz-req+jwt", "alg": "ES256", "kid": keys.kid, "x5c": keys.x5c},
        claims,
        keys.key,
        algorithms=["ES256"],
        registry=REGISTRY,
    )
    return Response(token, media_type="application/oauth-authz-req+jwt", headers={"Cache-Control": "no-store"})


#: The profile-defined Verifier metadata parameter naming the site whose gate asks
#: (docs/architecture.md "OpenID4VP: DCQL and direct_post").
SITE_NAME = "genba_site_name"


def client_metadata(site_name: str, prime_name: str) -> dict[str, Any]:
    """§5.1 ``client_metadata`` (Verifier metadata, §11): who the technician presents to, in words
    (issue 15, item 7). ``client_name`` is RFC 7591 §2's human-readable name of the client — the prime
    contractor (元請), the party that receives the presentation; ``genba_site_name`` names the site, an
    additional Verifier metadata parameter as §11.1 allows, which this profile defines as usable here
    (§5.1: other parameters are ignored unless a profile defines them). ``vp_formats_supported`` (§11.1)
    says what the gate verifies: SD-JWT VC with ES256 signatures and key binding."""
    metadata: dict[str, Any] = {
        "vp_formats_supported": {"dc+sd-jwt": {"sd-jwt_alg_values": ["ES256"], "kb-jwt_alg_values": ["ES256"]}},
        SITE_NAME: site_name,
    }
    if prime_name:
        metadata["client_name"] = prime_name
    return metadata


@router.post("/gate/responses/{request_id}")
async def response(request_id: str, request: Request) -> Response:
    """§8.2 direct_post: ``vp_token`` (JSON object keyed by DCQL credential query id) and ``state``."""
    gate = _gate(request)
    raw = (await request.body()).decode("utf-8", errors="replace")
    form = dict(parse_qsl(raw, keep_blank_values=True))
    return await run_in_threadpool(_answer, gate, request_id, form)


def _answer(gate: GateRuntime, request_id: str, form: dict[str, str]) -> Response:
    now = gate.wallet.clock()
    with Session(gate.wallet.engine, expire_on_commit=False) as session:
        row = session.get(GateRequest, request_id)
        if row is None or row.expires_at <= now:
            return _error(400, "invalid_request", "unknown or expired presentation request")
        if row.answered_at is not None:
            return _error(400, "invalid_request", "this request was already answered (nonce used)")
        if form.get("state") != row.state:
            return _error(400, "invalid_request", "state does not match")
        try:
            vp_token = json.loads(form.get("vp_token", ""))
        except ValueError:
            vp_token = None
        dcql = requirement(session, gate, row.site_id, row.work_kind)
        result = check(
            vp_token,
            dcql=dcql,
            nonce=row.nonce,
            aud=gate.client_id,
            now=now,
            trust=live_trust(gate, now),
            site_id=row.site_id,
            gate_id=row.gate_id,
            direction=row.direction,
        )
        done = record(
            session,
            gate,
            result,
            site_id=row.site_id,
            gate_id=row.gate_id,
            direction=row.direction,
            at=now,
            mode="online",
            received_at=now,
            recorded_by=row.created_by,
            work_kind=row.work_kind,
            retry_is_duplicate=False,
        )
        row.answered_at = now
        row.result = {
            "ok": result.ok,
            "reasons": result.reasons,
            "technician_id": result.technician_id,
            "name": result.name,
            "level": result.level,
            "level_colour": result.level_colour,
            "direction": row.direction,
        }
        session.add(row)
        session.commit()
    if done.entry is not None:
        gate.directory.record(done.entry)  # after the commit: work history is written in its own transaction
    return JSONResponse({}, headers={"Cache-Control": "no-store"})


@router.get("/gate/requests/{request_id}/result")
def result(request_id: str, request: Request) -> Response:
    gate = _gate(request)
    operator = gate.directory.operator(request)
    with Session(gate.wallet.engine) as session:
        row = session.get(GateRequest, request_id)
        if row is None or operator is None or row.site_id not in operator.sites:
            return _error(404, "not_found", "no such request")
        body = {"answered": row.answered_at is not None, "result": row.result}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
