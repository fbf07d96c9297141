"""IETF Token Status List (draft-ietf-oauth-status-list): one unpredictable index per credential,
2 bits per entry (0 VALID, 1 INVALID, 2 SUSPENDED), DEFLATE-compressed, published as a signed
``statuslist+jwt`` with ``ttl`` and ``exp``. Built from the non-zero statuses, cached for less than
one ``ttl`` so a revocation shows up in the published list within one ``ttl``."""

from __future__ import annotations

import secrets
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwt
from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from wallet.keys import KeyRing
from wallet.models import IssuedCredential, StatusList

VALID, INVALID, SUSPENDED = 0, 1, 2
BITS = 2
TTL = timedelta(minutes=5)
LIFETIME = timedelta(hours=24)
DEFAULT_SIZE = 1 << 20  # 1,048,576 entries: 256 KiB before compression
FILL_LIMIT = 0.5  # a new list once half full, so random indices stay cheap to find


def encode(statuses: dict[int, int], size: int, bits: int = BITS) -> bytes:
    """Pack statuses little-endian within each byte (§4.1), then DEFLATE with zlib (RFC 1950)."""
    raw = bytearray(size * bits // 8)
    per_byte = 8 // bits
    for index, status in statuses.items():
        raw[index // per_byte] |= (status & ((1 << bits) - 1)) << ((index % per_byte) * bits)
    return zlib.compress(bytes(raw), 9)


#: the largest list a verifier inflates (64 Mi entries of 2 bits); more is refused, not allocated
MAX_INFLATED = 16 << 20


def inflate(compressed: bytes) -> bytes:
    """zlib (RFC 1950) with a bound: a list token is signed, but a verifier still caps what it allocates."""
    inflater = zlib.decompressobj()
    raw = inflater.decompress(compressed, MAX_INFLATED)
    if inflater.unconsumed_tail or not inflater.eof:
        raise ValueError("the status list is truncated or too large")
    return raw


def read(raw: bytes, index: int, bits: int = BITS) -> int:
    """The status at ``index`` of an inflated list (§4.1: little-endian within each byte)."""
    per_byte = 8 // bits
    return (raw[index // per_byte] >> ((index % per_byte) * bits)) & ((1 << bits) - 1)


def decode(compressed: bytes, index: int, bits: int = BITS) -> int:
    return read(inflate(compressed), index, bits)


def allocate(
    session: Session, *, now: datetime, size: int = DEFAULT_SIZE, randbelow: Callable[[int], int] = secrets.randbelow
) -> tuple[str, int]:
    """A random free index (unpredictable, so indices say nothing about issuance order or volume)."""
    stmt = select(StatusList).where(col(StatusList.allocated) < col(StatusList.size) * FILL_LIMIT)
    current = session.exec(stmt.order_by(col(StatusList.created_at).desc())).first()
    if current is None:
        current = StatusList(id=secrets.token_hex(8), bits=BITS, size=size, allocated=0, created_at=now, updated_at=now)
        session.add(current)
        session.flush()
    for _ in range(64):
        index = randbelow(current.size)
        taken = session.exec(
            select(IssuedCredential.id)
            .where(col(IssuedCredential.status_list_id) == current.id)
            .where(col(IssuedCredential.status_index) == index)
        ).first()
        if taken is None:
            session.execute(
                update(StatusList).where(col(StatusList.id) == current.id).values(allocated=StatusList.allocated + 1)
            )
            return current.id, index
    raise RuntimeError("no free status index found")


def set_status(session: Session, credential_ids: list[str], status: int, *, reason: str, now: datetime) -> int:
    result = session.execute(
        update(IssuedCredential)
        .where(col(IssuedCredential.id).in_(credential_ids))
        .values(status=status, status_reason=reason[:200])
    )
    lists = session.exec(
        select(IssuedCredential.status_list_id).where(col(IssuedCredential.id).in_(credential_ids)).distinct()
    ).all()
    if lists:
        session.execute(update(StatusList).where(col(StatusList.id).in_(lists)).values(updated_at=now))
    return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass
class _Built:
    token: str
    built_at: datetime
    updated_at: datetime
    kid: str


class StatusPublisher:
    def __init__(self, engine: Engine, keys: KeyRing, *, issuer: str, clock: Callable[[], datetime]) -> None:
        self._engine, self._keys, self._issuer, self._clock = engine, keys, issuer, clock
        self._cache: dict[str, _Built] = {}

    def uri(self, list_id: str) -> str:
        return f"{self._issuer}/wallet/status/{list_id}"

    def token(self, list_id: str) -> str | None:
        """The signed list; rebuilt when statuses changed, after half a ``ttl``, or when the key that signed
        it has retired (verifiers accept lists from keys in their use period only: wallet.keys.signing)."""
        now = self._clock()
        kid = self._keys.current(now).kid
        with Session(self._engine) as session:
            row = session.get(StatusList, list_id)
            if row is None:
                return None
            cached = self._cache.get(list_id)
            fresh = cached and cached.kid == kid and now - cached.built_at < TTL / 2
            if cached and fresh and cached.updated_at == row.updated_at:
                return cached.token
            statuses = dict(
                session.exec(
                    select(IssuedCredential.status_index, IssuedCredential.status)
                    .where(col(IssuedCredential.status_list_id) == list_id)
                    .where(col(IssuedCredential.status) != VALID)
                ).all()
            )
            token = self._sign(list_id, encode(statuses, row.size, row.bits), row.bits, now)
            self._cache[list_id] = _Built(token, now, row.updated_at, kid)
            return token

    def _sign(self, list_id: str, compressed: bytes, bits: int, now: datetime) -> str:
        from wallet.sdjwt import REGISTRY, b64url

        keys = self._keys.current(now)
        claims: dict[str, Any] = {
            "sub": self.uri(list_id),
            "iat": int(now.timestamp()),
            "exp": int((now + LIFETIME).timestamp()),
            "ttl": int(TTL.total_seconds()),
            "status_list": {"bits": bits, "lst": b64url(compressed)},
        }
        header = {"typ": "statuslist+jwt", "alg": "ES256", "kid": keys.kid, "x5c": keys.x5c}
        return jwt.encode(header, claims, keys.key, algorithms=["ES256"], registry=REGISTRY)


def claim_index(session: Session, *, now: datetime, size: int = DEFAULT_SIZE) -> tuple[str, int]:
    """Allocate inside a savepoint; a rare concurrent collision is retried with another index."""
    for _ in range(5):
        try:
            with session.begin_nested():
                return allocate(session, now=now, size=size)
        except IntegrityError:
            continue
    raise RuntimeError("could not allocate a status index")
