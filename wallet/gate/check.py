"""Checking a presentation at the gate (issue 7, item 4): issuer signature and chain, every disclosure,
key binding (nonce, audience, sd_hash, iat within a small skew), expiry, status from the (cached)
status list — failing closed when the list is too old — and that the site's requirements are met.
The result is what the gate screen shows: name, photo, card level colour, or the reason in plain words."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import ECKey

from wallet.credentials import CARD, TYPES
from wallet.gate.requirements import missing_reason, satisfies
from wallet.verifier import VerificationError, Verified, check_status, verify

SKEW = timedelta(seconds=60)
STATUS_GRACE = timedelta(hours=12)


@dataclass
class GateResult:
    ok: bool
    reasons: list[dict[str, str]] = field(default_factory=list)
    technician_id: str | None = None
    name: str | None = None
    level: int | None = None
    level_colour: dict[str, str] | None = None
    event_key: str | None = None

    def refuse(self, code: str, ja: str, en: str) -> GateResult:
        self.ok = False
        self.reasons.append({"code": code, "ja": ja, "en": en})
        return self


@dataclass(frozen=True)
class Trust:
    root_pem: str
    #: status list URI -> signed status list token (synced or fetched)
    status_lists: Callable[[str], str | None]
    #: kid -> issuer public key (to check status list signatures)
    issuer_keys: dict[str, ECKey]


def _same_name(a: Any, b: Any) -> bool:
    def norm(v: Any) -> str:
        return "".join(unicodedata.normalize("NFKC", str(v)).split())

    return norm(a) == norm(b)


def event_key(site_id: str, gate_id: str, technician_id: str, direction: str, nonce: str) -> str:
    """The same presentation (same nonce) scanned twice is one event."""
    return hashlib.sha256(f"{site_id}|{gate_id}|{technician_id}|{direction}|{nonce}".encode()).hexdigest()[:40]


def check(
    vp_token: Any,
    *,
    dcql: dict[str, Any],
    nonce: str,
    aud: str,
    now: datetime,
    trust: Trust,
    site_id: str,
    gate_id: str,
    direction: str,
    skew: timedelta = SKEW,
    status_grace: timedelta = STATUS_GRACE,
) -> GateResult:
    result = GateResult(ok=True)
    if not isinstance(vp_token, dict):
        return result.refuse("malformed", "読み取れない提示です", "the presentation cannot be read")
    verified: dict[str, Verified] = {}
    for query in dcql.get("credentials", []):
        presented = vp_token.get(query["id"])
        if not isinstance(presented, list) or not presented or not isinstance(presented[0], str):
            missing = missing_reason(query, None)
            result.refuse("missing_credential", missing.ja, missing.en)
            continue
        try:
            item = verify(presented[0], now=now, aud=aud, nonce=nonce, skew=skew, root_pem=trust.root_pem)
            token = trust.status_lists(item.status_uri or "")
            if token is None:
                raise VerificationError(
                    "status_unavailable",
                    "失効情報がありません（同期してください）",
                    "no status list for this credential; sync the gate",
                )
            kid = _kid(token)
            signer = trust.issuer_keys.get(kid)
            if signer is None:
                raise VerificationError(
                    "status_list_invalid", "失効情報の発行者が不明です", "unknown status list signer"
                )
            check_status(item, token, signer=signer, now=now, grace=status_grace)
        except VerificationError as exc:
            result.refuse(exc.code, exc.ja, exc.en)
            continue
        problem = satisfies(query, item.vct, item.claims)
        if problem is not None:
            missing = missing_reason(query, problem)
            result.refuse("requirement_not_met", missing.ja, missing.en)
            continue
        verified[query["id"]] = item
    card = next((v for v in verified.values() if v.vct == TYPES[CARD].vct(v.claims.get("iss", ""))), None)
    if card is not None:
        claims = card.claims
        result.technician_id, result.name = claims.get("technician_id"), claims.get("name")
        result.level, result.level_colour = claims.get("level"), claims.get("level_colour")
        for other in verified.values():
            # Notice §4.3: certificates count only in the card holder's own name, so a certificate
            # whose holder name was not shown (a requirement that forgot to ask) cannot count either.
            if other is card:
                continue
            if "holder_name" not in other.claims:
                result.refuse(
                    "holder_unknown",
                    "資格証の氏名が提示されていないため本人の資格か確認できません",
                    "a certificate was shown without its holder's name, so it cannot be matched to the card",
                )
            elif not _same_name(other.claims["holder_name"], claims.get("name")):
                result.refuse(
                    "holder_mismatch", "資格証の氏名がカードと一致しません", "a certificate is in someone else's name"
                )
    elif result.ok:
        result.refuse("missing_credential", "建設キャリアアップカードがありません", "the CCUS card is missing")
    if result.ok and result.technician_id:
        result.event_key = event_key(site_id, gate_id, str(result.technician_id), direction, nonce)
    return result


def _kid(token: str) -> str:
    import base64
    import json

    try:
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        return str(header.get("kid", ""))
    except (ValueError, IndexError):
        return ""
