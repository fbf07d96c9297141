"""Provider signing keys: generation, encryption at rest, JWKS, and rollover.

Rollover follows "publish first, sign later" (RFC 7517 §5 and the Keycloak #49658 lesson):
``genba keys rotate`` adds a key that is published at once but used for signing only after a
configurable delay, long enough for every verifier to refresh its JWKS cache. The keys it
replaces stay published until whatever they signed has expired.
"""

from __future__ import annotations

import json
import threading
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from idp.models import SigningKey
from idp.runtime import Clock
from idp.secretbox import SecretBox

SUPPORTED_ALGS = ("ES256", "RS256", "PS256", "EdDSA")
DEFAULT_ALG = "ES256"
CACHE_SECONDS = 30
# joserfc flags EdDSA as deprecated by RFC 9864 (in favour of Ed25519); RPs still expect "EdDSA".
warnings.filterwarnings("ignore", message="EdDSA is deprecated", module="joserfc")

AnyKey = ECKey | RSAKey | OKPKey


class KeyError_(ValueError):
    """A key operation is not possible (unsupported algorithm...)."""


def generate(alg: str) -> AnyKey:
    if alg == "ES256":
        return ECKey.generate_key("P-256")
    if alg in ("RS256", "PS256"):
        return RSAKey.generate_key(2048)
    if alg == "EdDSA":
        return OKPKey.generate_key("Ed25519")
    raise KeyError_(f"unsupported signing algorithm {alg!r}; choose one of {', '.join(SUPPORTED_ALGS)}")


def import_private(data: dict[str, Any]) -> AnyKey:
    kty = data.get("kty")
    if kty == "EC":
        return ECKey.import_key(data)
    if kty == "RSA":
        return RSAKey.import_key(data)
    if kty == "OKP":
        return OKPKey.import_key(data)
    raise KeyError_(f"unsupported key type {kty!r}")


@dataclass(frozen=True)
class ActiveKey:
    kid: str
    alg: str
    key: AnyKey


class KeyStore:
    """Signing keys read from the database, cached for ``CACHE_SECONDS`` per process."""

    def __init__(self, engine: Engine, box: SecretBox, clock: Clock) -> None:
        self._engine = engine
        self._box = box
        self._clock = clock
        self._lock = threading.Lock()
        self._rows: list[SigningKey] = []
        self._loaded_at: datetime | None = None
        self._private: dict[str, AnyKey] = {}
        self._keyset: tuple[tuple[str, ...], KeySet] | None = None

    def _load(self, *, force: bool = False) -> list[SigningKey]:
        now = self._clock()
        with self._lock:
            if force or self._loaded_at is None or (now - self._loaded_at).total_seconds() > CACHE_SECONDS:
                with Session(self._engine, expire_on_commit=False) as session:
                    self._rows = list(session.exec(select(SigningKey).order_by(col(SigningKey.active_from))).all())
                self._loaded_at = now
            return self._rows

    def refresh(self) -> None:
        self._load(force=True)

    def ensure(self, *, alg: str = DEFAULT_ALG) -> None:
        """Bootstrap: make a key that signs at once if no key of ``alg`` can sign now."""
        now = self._clock()
        rows = self._load(force=True)
        if not any(
            r.alg == alg and r.active_from <= now and (r.expires_at is None or r.expires_at > now) for r in rows
        ):
            with Session(self._engine) as session:
                add_key(session=session, box=self._box, alg=alg, now=now, active_from=now)
                session.commit()
            self.refresh()

    def published(self) -> list[SigningKey]:
        now = self._clock()
        return [r for r in self._load() if r.created_at <= now and (r.expires_at is None or r.expires_at > now)]

    def jwks(self) -> dict[str, Any]:
        """RFC 7517 §5 JWK Set of every published key (verification keys only)."""
        published = self.published()
        if not published:
            self.ensure()
            published = self.published()
        return {"keys": [dict(r.public_jwk) for r in published]}

    def verification_keys(self) -> KeySet:
        """The published keys as a joserfc KeySet, rebuilt only when the published set changes."""
        jwks = self.jwks()
        kids = tuple(k["kid"] for k in jwks["keys"])
        cached = self._keyset
        if cached is None or cached[0] != kids:
            cached = (kids, KeySet.import_key_set(jwks))  # type: ignore[arg-type]
            self._keyset = cached
        return cached[1]

    def signing_key(self, alg: str = DEFAULT_ALG) -> ActiveKey:
        """The newest key of ``alg`` that is past its activation time."""
        now = self._clock()
        candidates = [r for r in self.published() if r.alg == alg and r.active_from <= now]
        if not candidates:
            self.ensure(alg=alg)
            now = self._clock()  # the bootstrap key is active from the instant ensure() read
            candidates = [r for r in self.published() if r.alg == alg and r.active_from <= now]
        row = max(candidates, key=lambda r: r.active_from)
        key = self._private.get(row.kid)
        if key is None:
            key = import_private(json.loads(self._box.open(row.private_jwk_enc)))
            self._private[row.kid] = key
        return ActiveKey(kid=row.kid, alg=row.alg, key=key)


def add_key(*, session: Session, box: SecretBox, alg: str, now: datetime, active_from: datetime) -> SigningKey:
    key = generate(alg)
    kid = key.thumbprint()  # RFC 7638 thumbprint as kid
    public = {**key.as_dict(private=False), "kid": kid, "alg": alg, "use": "sig"}
    row = SigningKey(
        kid=kid,
        alg=alg,
        private_jwk_enc=box.seal(json.dumps(key.as_dict(private=True)).encode()),
        public_jwk=public,
        created_at=now,
        active_from=active_from,
    )
    session.add(row)
    return row


def rotate(
    *, session: Session, box: SecretBox, alg: str, now: datetime, delay: timedelta, retain: timedelta
) -> SigningKey:
    """Publish a new key now, sign with it after ``delay``; older keys of ``alg`` expire ``retain``
    after the new key takes over (longer than anything they signed lives)."""
    if delay < timedelta(0) or retain < timedelta(0):
        raise KeyError_("delay and retain must not be negative")
    new = add_key(session=session, box=box, alg=alg, now=now, active_from=now + delay)
    for old in session.exec(select(SigningKey).where(col(SigningKey.alg) == alg)).all():
        if old.kid != new.kid and (old.expires_at is None or old.expires_at > new.active_from + retain):
            old.expires_at = new.active_from + retain
            session.add(old)
    return new
