"""One-time recovery codes for when the TOTP device is lost.

Codes carry 60 bits of randomness, so a fast hash (SHA-256) compared in the database is
enough; each code works once (the row is marked used with a conditional update).
"""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, delete, func, select

from idp.models import RecoveryCode
from idp.runtime import Randomness

ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
COUNT = 10
GROUPS = 3
GROUP_LEN = 4


def _normalise(code: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", code).lower() if ch.isalnum())


def _hash(code: str) -> str:
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def _new_code(rng: Randomness) -> str:
    raw = rng.token_bytes(GROUPS * GROUP_LEN)
    chars = [ALPHABET[b % len(ALPHABET)] for b in raw]
    return "-".join("".join(chars[i : i + GROUP_LEN]) for i in range(0, len(chars), GROUP_LEN))


def replace_codes(*, session: Session, account_id: int, rng: Randomness) -> list[str]:
    """Invalidate all previous codes of the account and return ten new ones (shown once)."""
    session.exec(delete(RecoveryCode).where(col(RecoveryCode.account_id) == account_id))
    codes = [_new_code(rng) for _ in range(COUNT)]
    for code in codes:
        session.add(RecoveryCode(account_id=account_id, code_hash=_hash(code)))
    return codes


def use_code(*, session: Session, account_id: int, code: str, now: datetime) -> bool:
    """Consume ``code`` if it is an unused code of this account; a second use fails."""
    if not _normalise(code):
        return False
    result = session.execute(
        update(RecoveryCode)
        .where(col(RecoveryCode.account_id) == account_id)
        .where(col(RecoveryCode.code_hash) == _hash(code))
        .where(col(RecoveryCode.used_at).is_(None))
        .values(used_at=now)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def remaining(*, session: Session, account_id: int) -> int:
    stmt = (
        select(func.count())
        .select_from(RecoveryCode)
        .where(col(RecoveryCode.account_id) == account_id)
        .where(col(RecoveryCode.used_at).is_(None))
    )
    return int(session.exec(stmt).one())
