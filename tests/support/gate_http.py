"""The site gate over a real HTTP connection, for the security tests: a technician's wallet filled
through the real OpenID4VCI endpoints (the offer made with ``genba credentials offer``), the gate staff's
sync, the wallet's answer to an offline challenge as QR frames, and ``genba gate verify`` with stdin.

Nothing here decides what is correct: the tests assert what the server answers.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import Session, col, select

from tests.support.gate_world import unverified_claims
from tests.support.http_user import HttpUser
from tests.support.server import LiveServer, _genba_executable
from tools.holder import HeldCredential, receive
from wallet.gate.codec import Challenge, encode_challenge, encode_presentation
from wallet.gate.models import GateEvent, GateRefusal
from wallet.gate.requirements import revealed_claims

JSON = {"Content-Type": "application/json"}


def wallet_of(server: LiveServer, technician_id: str) -> list[HeldCredential]:
    """The technician's wallet receives the card (and certificates) offered by ``genba credentials offer``."""
    offer = json.loads(server.genba("credentials", "offer", "--technician-id", technician_id, "--json").stdout)
    with httpx.Client(base_url=server.base_url, timeout=30.0) as http:
        held = receive(http, offer["link"], tx_code=offer["tx_code"], now=int(time.time()))
    for item in held:
        item.claims = unverified_claims(item.sd_jwt)
    return held


def card_of(held: list[HeldCredential]) -> HeldCredential:
    return next(h for h in held if "course_code" not in h.claims)


def sync(staff: HttpUser, site_id: str, gate_id: str) -> dict[str, Any]:
    answer = staff.get("/gate/sync", params={"site_id": site_id, "gate_id": gate_id})
    assert answer.status_code == 200, answer.text[:300]
    bundle: dict[str, Any] = answer.json()
    return bundle


def challenge(site_id: str, gate_id: str, *, at: int | None = None, work_kind: str = "general") -> Challenge:
    at = int(time.time()) if at is None else at
    return Challenge(site_id, gate_id, work_kind, secrets.token_urlsafe(16), at, f"genba-gate:{site_id}:{gate_id}")


def frames(held: list[HeldCredential], bundle: dict[str, Any], c: Challenge, *, iat: int | None = None) -> list[str]:
    """The wallet's GP1 answer to ``c``: for each query of the requirement, the card or the certificate
    of the course it names, with only the disclosures the query names and a KB-JWT for ``c``."""
    iat = int(time.time()) if iat is None else iat
    token: dict[str, list[str]] = {}
    for query in bundle["requirements"][c.work_kind]["credentials"]:
        codes = [x["values"][0] for x in query["claims"] if x["path"] == ["course_code"] and x.get("values")]
        pick = next(h for h in held if h.claims.get("course_code") == codes[0]) if codes else card_of(held)
        token[query["id"]] = [pick.present(reveal=revealed_claims(query), aud=c.audience, nonce=c.nonce, iat=iat)]
    return encode_presentation(c.nonce, token)


def queued(
    c: Challenge,
    presentation: list[str],
    *,
    by: str,
    direction: str = "in",
    at: int | None = None,
    ok: bool = True,
    technician_id: str | None = None,
) -> dict[str, Any]:
    """An event as the gate page queues it (docs/offline-gate.md §5)."""
    return {
        "event_key": secrets.token_hex(20),
        "site_id": c.site_id,
        "gate_id": c.gate_id,
        "technician_id": technician_id,
        "direction": direction,
        "at": int(time.time()) if at is None else at,
        "ok": ok,
        "reasons": [],
        "recorded_by": by,
        "challenge": encode_challenge(c),
        "presentation": presentation,
    }


def gate_rows(server: LiveServer, site_id: str, gate_id: str) -> tuple[list[GateEvent], list[GateRefusal]]:
    with server.database() as engine, Session(engine) as db:
        events = db.exec(
            select(GateEvent).where(col(GateEvent.site_id) == site_id).where(col(GateEvent.gate_id) == gate_id)
        ).all()
        refusals = db.exec(
            select(GateRefusal).where(col(GateRefusal.site_id) == site_id).where(col(GateRefusal.gate_id) == gate_id)
        ).all()
        return list(events), list(refusals)


def gate_verify(server: LiveServer, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    """``genba gate verify`` as a card reader runs it (the server's environment, frames on stdin)."""
    return subprocess.run(
        [_genba_executable(), "gate", "verify", *args],
        input=stdin,
        env=server.env,
        cwd=Path(server.tmp),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
