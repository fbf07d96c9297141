"""Checking a presentation at the gate (issue 7, item 4): issuer signature and chain, every disclosure,
key binding (nonce, audience, sd_hash, iat within a small skew), expiry, status from the (cached)
status list — failing closed when the list is too old — and that the site's requirements are met.
The result is what the gate screen shows: name, photo, card level colour, or the reason in plain words.

Card and certificates are joined by the holder, not by a name (issue 12, item 9): each certificate
must show the card's 技能者ID (two people can share a name), and where the issuer's records are at hand
(online, on upload, ``genba gate verify`` against the server) every credential must be one Genba ID
issued to that technician, bound to the very key that signed its key binding. The web wallet gives
every credential its own key (unlinkability), so "one key for all" would refuse honest holders.
The result also says what was verified (``evidence``): the nonce, each credential's digest, holder
key thumbprint and status entry, and the key binding's audience and time."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import ECKey

from common.messages import message
from wallet.credentials import CARD, TYPES
from wallet.gate.requirements import missing_reason, satisfies
from wallet.sdjwt import holder_key
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
    nonce: str | None = None
    audience: str | None = None
    #: DCQL query id -> what was verified of the credential presented for it
    credentials: dict[str, dict[str, Any]] = field(default_factory=dict)

    def refuse(self, code: str, ja: str, en: str) -> GateResult:
        self.ok = False
        self.reasons.append({"code": code, "ja": ja, "en": en})
        return self

    @property
    def card_digest(self) -> str | None:
        card = next((c for c in self.credentials.values() if c.get("card")), None)
        return str(card["digest"]) if card else None

    def evidence(self, *, mode: str, verified_at: datetime, work_kind: str) -> dict[str, Any]:
        """What the server verified before recording an entry (kept with the entry)."""
        return {
            "verified": self.ok,
            "verified_by": "server",
            "verified_at": int(verified_at.timestamp()),
            "mode": mode,
            "work_kind": work_kind,
            "nonce": self.nonce,
            "audience": self.audience,
            "credentials": self.credentials,
        }


@dataclass(frozen=True)
class Issued:
    """The issuer's own record of a credential (wallet.models.IssuedCredential)."""

    technician_id: str
    holder_jkt: str


@dataclass(frozen=True)
class Trust:
    root_pem: str
    #: status list URI -> signed status list token (synced or fetched)
    status_lists: Callable[[str], str | None]
    #: kid -> issuer public key (to check status list signatures)
    issuer_keys: dict[str, ECKey]
    #: (status list URI, index) -> the issuance record; None offline, where the records are not at hand
    issued: Callable[[str, int], Issued | None] | None = None


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
    result = GateResult(ok=True, nonce=nonce, audience=aud)
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
            _check_status_offline(item, trust, now=now, grace=status_grace)
        except VerificationError as exc:
            result.refuse(exc.code, exc.ja, exc.en)
            continue
        problem = satisfies(query, item.vct, item.claims)
        if problem is not None:
            missing = missing_reason(query, problem)
            result.refuse("requirement_not_met", missing.ja, missing.en)
            continue
        verified[query["id"]] = item
        result.credentials[query["id"]] = _what_was_verified(presented[0], item)
    card = next((v for v in verified.values() if v.vct == TYPES[CARD].vct(v.claims.get("iss", ""))), None)
    if card is not None:
        claims = card.claims
        result.technician_id, result.name = claims.get("technician_id"), claims.get("name")
        result.level, result.level_colour = claims.get("level"), claims.get("level_colour")
        for query_id, item in verified.items():
            result.credentials[query_id]["card"] = item is card
        _same_holder(result, card, verified, trust)
        _in_the_holders_name(result, card, verified)
    elif result.ok:
        result.refuse("missing_credential", "建設キャリアアップカードがありません", "the CCUS card is missing")
    if result.ok and result.technician_id:
        result.event_key = event_key(site_id, gate_id, str(result.technician_id), direction, nonce)
    return result


def _check_status_offline(item: Verified, trust: Trust, *, now: datetime, grace: timedelta) -> None:
    """The credential's status from the gate's synced status lists, signed by a known issuer key."""
    token = trust.status_lists(item.status_uri or "")
    if token is None:
        raise VerificationError(
            "status_unavailable",
            message("credential.status_missing"),
        )
    kid = _kid(token)
    signer = trust.issuer_keys.get(kid)
    if signer is None:
        raise VerificationError("status_list_invalid", message("credential.status_signer_unknown"))
    check_status(item, token, signer=signer, now=now, grace=grace)


def _in_the_holders_name(result: GateResult, card: Verified, verified: dict[str, Verified]) -> None:
    """Notice §4.3: certificates count only in the card holder's own name, so a certificate whose
    holder name was not shown (a requirement that forgot to ask) cannot count either."""
    for other in verified.values():
        if other is card:
            continue
        if "holder_name" not in other.claims:
            result.refuse(
                "holder_unknown",
                "資格証の氏名が提示されていないため本人の資格か確認できません",
                "a certificate was shown without its holder's name, so it cannot be matched to the card",
            )
        elif not _same_name(other.claims["holder_name"], card.claims.get("name")):
            result.refuse(
                "holder_mismatch", "資格証の氏名がカードと一致しません", "a certificate is in someone else's name"
            )


def _what_was_verified(presented: str, item: Verified) -> dict[str, Any]:
    cnf = item.claims.get("cnf", {}).get("jwk") if isinstance(item.claims.get("cnf"), dict) else None
    return {
        "digest": hashlib.sha256(presented.split("~", 1)[0].encode()).hexdigest(),
        "vct": item.vct,
        "iat": item.claims.get("iat"),
        "holder_jkt": _thumbprint(cnf),
        "status": f"{item.status_uri}#{item.status_index}" if item.status_uri else None,
        "kb_iat": item.kb_iat,
    }


def _thumbprint(jwk: Any) -> str | None:
    try:
        return holder_key(jwk)[1]  # RFC 7638, computed once per holder key
    except (ValueError, TypeError, KeyError):
        return None


def _same_holder(result: GateResult, card: Verified, verified: dict[str, Verified], trust: Trust) -> None:
    """Issue 12, item 9: every certificate names the card's 技能者ID; with the issuer's records at hand,
    every credential was issued by Genba ID to that technician and bound to the key that signed."""
    holder = card.claims.get("technician_id")
    for query_id, item in verified.items():
        if item is not card:
            shown = item.claims.get("technician_id")
            if shown is None:
                result.refuse(
                    "holder_unknown",
                    "資格証の技能者IDが提示されていないため本人の資格か確認できません",
                    "a certificate was shown without its technician ID, so it cannot be matched to the card",
                )
            elif str(shown) != str(holder):
                result.refuse(
                    "holder_mismatch", "資格証が別の技能者のものです", "a certificate belongs to another technician"
                )
        if trust.issued is None:
            continue
        index = item.status_index
        record = trust.issued(item.status_uri or "", index) if isinstance(index, int) else None
        if record is None or record.holder_jkt != result.credentials[query_id]["holder_jkt"]:
            result.refuse(
                "not_issued",
                "発行記録と一致しない資格情報です",
                "the issuer has no record of this credential for this holder key",
            )
        elif record.technician_id != str(holder):
            result.refuse(
                "holder_mismatch", "資格証が別の技能者のものです", "a certificate belongs to another technician"
            )


def _kid(token: str) -> str:
    import base64
    import json

    try:
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        return str(header.get("kid", ""))
    except (ValueError, IndexError):
        return ""
