"""Checking an offline presentation against a synced bundle (no network): used by ``genba gate verify``
and mirrored by the gate page's script. The gate's own clock is checked against the bundle and the
challenge, so a clock far off gives a red screen instead of a wrong answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import ECKey

from common.lru import LRU
from wallet.gate.check import GateResult, Issued, Trust, check
from wallet.gate.codec import Challenge, CodecError, decode_presentation

#: the bundle's issuer keys as joserfc keys, by their exact JWK (issue 14: imported once, not per check)
_KEYS: LRU[str, ECKey] = LRU(64)
CHALLENGE_LIFETIME = timedelta(minutes=5)
MAX_BUNDLE_AGE = timedelta(days=2)


def verify_offline(
    frames: list[str],
    challenge: Challenge,
    bundle: dict[str, Any],
    *,
    now: datetime,
    direction: str,
    issued: Callable[[str, int], Issued | None] | None = None,
) -> GateResult:
    """``issued``: the issuer's records, when the check runs where they are (``genba gate verify``
    against the server's own data); a gate with only its bundle has none."""
    result = GateResult(ok=True, nonce=challenge.nonce, audience=challenge.audience)
    generated = datetime.fromtimestamp(int(bundle.get("generated_at", 0)), tz=now.tzinfo)
    if now < generated - timedelta(minutes=5) or now - generated > MAX_BUNDLE_AGE:
        return result.refuse(
            "gate_clock",
            "ゲートの時計か同期データの日時が正しくありません",
            "the gate's clock or its synced data is off; sync the gate",
        )
    shown_at = datetime.fromtimestamp(challenge.time, tz=now.tzinfo)
    if not timedelta(minutes=-1) <= now - shown_at <= CHALLENGE_LIFETIME:
        return result.refuse(
            "challenge_expired",
            "読み取り用QRコードの有効期限が切れました",
            "the gate's challenge has expired; show the new one",
        )
    if challenge.site_id != bundle.get("site_id"):
        return result.refuse("wrong_site", "この現場のQRコードではありません", "this challenge is for another site")
    try:
        nonce, vp_token = decode_presentation(frames)
    except CodecError as exc:
        return result.refuse("unreadable", "QRコードを読み取れませんでした", str(exc))
    if nonce != challenge.nonce:
        return result.refuse(
            "invalid_kb_nonce",
            "このゲートへの提示ではありません（再提示）",
            "the presentation answers another challenge",
        )
    keys = {str(k["kid"]): _issuer_key(k) for k in bundle.get("issuer_keys", [])}
    lists: dict[str, str] = dict(bundle.get("status_lists", {}))
    trust = Trust(root_pem=str(bundle["root_pem"]), status_lists=lists.get, issuer_keys=keys, issued=issued)
    dcql = bundle.get("requirements", {}).get(challenge.work_kind) or bundle["requirements"]["general"]
    return check(
        vp_token,
        dcql=dcql,
        nonce=nonce,
        aud=challenge.audience,
        now=now,
        trust=trust,
        site_id=challenge.site_id,
        gate_id=challenge.gate_id,
        direction=direction,
    )


def _issuer_key(jwk: dict[str, Any]) -> ECKey:
    exact = json.dumps(jwk, sort_keys=True, separators=(",", ":"))
    key = _KEYS.get(exact)
    if key is None:
        key = ECKey.import_key(jwk)
        _KEYS.put(exact, key)
    return key
