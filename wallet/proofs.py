"""Key proofs of the credential request (OpenID4VCI 1.0 §8.2.1.1 and Appendix F.1, ``jwt`` proofs),
and c_nonces from the nonce endpoint (§7): single use, short-lived, deleted once expired."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from sqlalchemy import update
from sqlmodel import Session, col

from common.errors import GenbaError
from wallet.models import WalletNonce
from wallet.runtime import WalletConfig, sha256_hex

PROOF_TYP = "openid4vci-proof+jwt"


class ProofError(GenbaError, ValueError):
    """``invalid_proof`` or ``invalid_nonce`` (§8.3.1.2)."""

    status = 400

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description, code=error)


@dataclass(frozen=True)
class Proof:
    jwk: dict[str, Any]
    jkt: str
    nonce: str


def expired_nonces(now: datetime) -> tuple[type[WalletNonce], Any, Any]:
    """The table, key and condition of c_nonces nobody can use any more (expired, used or not);
    the anonymous ``POST /wallet/nonce`` writes one per call, so app/housekeeping.py deletes them."""
    return WalletNonce, col(WalletNonce.value_hash), col(WalletNonce.expires_at) <= now


def new_nonce(session: Session, config: WalletConfig, now: datetime) -> str:
    value = secrets.token_urlsafe(32)
    session.add(WalletNonce(value_hash=sha256_hex(value), expires_at=now + config.nonce_lifetime))
    return value


def check_proof(value: str, *, config: WalletConfig, client_id: str | None, now: datetime) -> Proof:
    """Appendix F.1: typ, an asymmetric alg, a public ``jwk``, signature, ``aud`` = issuer, fresh ``iat``."""
    try:
        header = jws.extract_compact(value.encode("ascii")).protected
    except (JoseError, ValueError, UnicodeEncodeError):
        raise ProofError("invalid_proof", "the proof is not a JWT") from None
    if header.get("typ") != PROOF_TYP:
        raise ProofError("invalid_proof", f"proof typ must be {PROOF_TYP}")
    if header.get("alg") != "ES256":
        raise ProofError("invalid_proof", "proof alg must be ES256")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or "d" in jwk:
        raise ProofError("invalid_proof", "the proof must carry the holder's public key in jwk")
    try:
        key = ECKey.import_key(jwk)
        claims = jwt.decode(value, key, algorithms=["ES256"]).claims
    except (JoseError, ValueError, TypeError):
        raise ProofError("invalid_proof", "the proof signature does not verify") from None
    aud = claims.get("aud")
    if config.issuer not in (aud if isinstance(aud, list) else [aud]):
        raise ProofError("invalid_proof", "proof aud must be the credential issuer")
    iat = claims.get("iat")
    if not isinstance(iat, int | float) or abs(now.timestamp() - iat) > config.proof_max_age.total_seconds():
        raise ProofError("invalid_proof", "proof iat is not recent")
    if "iss" in claims and client_id is not None and claims["iss"] != client_id:
        raise ProofError("invalid_proof", "proof iss is not the client")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str):
        raise ProofError("invalid_proof", "the proof has no c_nonce (§8.3.1.2)")
    return Proof(key.as_dict(private=False), key.thumbprint(), nonce)


def nonce_usable(session: Session, nonce: str, now: datetime) -> bool:
    row = session.get(WalletNonce, sha256_hex(nonce))
    return row is not None and row.used_at is None and row.expires_at > now


def consume_nonce(session: Session, nonce: str, now: datetime) -> bool:
    """Single use: the conditional update wins once, even across workers."""
    result = session.execute(
        update(WalletNonce)
        .where(col(WalletNonce.value_hash) == sha256_hex(nonce))
        .where(col(WalletNonce.used_at).is_(None))
        .where(col(WalletNonce.expires_at) > now)
        .values(used_at=now)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
