"""Provider signing keys: generation, encryption at rest, JWKS, and rollover.

Rollover follows "publish first, sign later" (RFC 7517 §5 and the Keycloak #49658 lesson):
``genba keys rotate`` adds a key that is published at once but used for signing only after a
configurable delay, long enough for every verifier to refresh its JWKS cache. The keys it
replaces stay published until whatever they signed has expired.

Each worker process caches the keys for ``CACHE_SECONDS``. Two rules keep workers consistent:

- the bootstrap key (the first key of an algorithm) is created under a lock every worker takes
  (a PostgreSQL advisory lock, SQLite's write lock) and only if, read under that lock, no key can
  sign yet: workers racing on a fresh database all end up with the same single key;
- a token whose ``kid`` this worker does not know makes it re-read the keys once before the token
  is refused (OIDC Core §10.1.1: an unfamiliar ``kid`` means "go back and re-retrieve the keys"),
  at most once per ``UNKNOWN_KID_COOLDOWN_SECONDS`` so that made-up ``kid`` values cannot turn
  every request into a database read.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from common import jws
from common.errors import GenbaError
from idp.models import SigningKey
from idp.runtime import Clock
from idp.secretbox import SecretBox, SecretBoxError

SUPPORTED_ALGS = ("ES256", "RS256", "PS256", "EdDSA")
DEFAULT_ALG = "ES256"
CACHE_SECONDS = 30
UNKNOWN_KID_COOLDOWN_SECONDS = 1.0
#: pg_advisory_xact_lock key serialising key creation across workers (any constant unique to this use)
KEY_CREATION_LOCK = 0x67656E6B  # "genk"
# joserfc flags EdDSA as deprecated by RFC 9864 (in favour of Ed25519); RPs still expect "EdDSA".
warnings.filterwarnings("ignore", message="EdDSA is deprecated", module="joserfc")

AnyKey = ECKey | RSAKey | OKPKey


class KeyError_(GenbaError, ValueError):
    """A key operation is not possible (unsupported algorithm...): the operator's to fix, 500."""


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
    #: the ``cryptography`` private key when :mod:`common.jws` signs with it (ES256, EdDSA), taken
    #: once when the key is opened; ``None`` for RS256/PS256, which stay on joserfc
    raw: jws.PrivateKey | None = None

    def sign_jwt(self, header: dict[str, Any], claims: dict[str, Any]) -> str:
        """A JWT signed with this key; ``alg`` and ``kid`` are this key's (RFC 7515 §4.1.1, §4.1.4)."""
        full = {**header, "alg": self.alg, "kid": self.kid}
        if self.raw is not None:
            return jws.encode_jwt(full, claims, self.raw)
        return jwt.encode(full, claims, self.key, algorithms=[self.alg])


@dataclass(frozen=True)
class PublishedKey:
    """A published verification key: the ``cryptography`` public key when :mod:`common.jws` verifies
    with it (``raw``), the joserfc key otherwise (RS256, PS256)."""

    kid: str
    alg: str
    key: AnyKey
    raw: jws.PublicKey | None


def _raw_for(alg: str, key: Any) -> Any:
    """``key`` if :mod:`common.jws` handles ``alg`` with a key of its type, else ``None``."""
    try:
        return key if alg in jws.ALGS and jws.alg_for(key) == alg else None
    except jws.JWSError:
        return None


def _active(kid: str, alg: str, key: AnyKey) -> ActiveKey:
    return ActiveKey(kid=kid, alg=alg, key=key, raw=_raw_for(alg, key.private_key))


@dataclass(frozen=True)
class _Published:
    """One published key set in the forms its users need, built once per change of the set."""

    kids: frozenset[str]
    jwks: dict[str, Any]
    jwks_json: bytes
    keyset: KeySet
    by_kid: dict[str, PublishedKey]


def _published_keys(rows: list[SigningKey], keyset: KeySet) -> dict[str, PublishedKey]:
    by_kid: dict[str, PublishedKey] = {}
    for row in rows:
        key = keyset.get_by_kid(row.kid)
        by_kid[row.kid] = PublishedKey(row.kid, row.alg, key, _raw_for(row.alg, key.public_key))  # type: ignore[arg-type]
    return by_kid


def json_bytes(document: dict[str, Any]) -> bytes:
    """The document as Starlette's ``JSONResponse`` renders it (compact, UTF-8)."""
    return json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def _can_sign(rows: list[SigningKey], alg: str, now: datetime) -> bool:
    return any(r.alg == alg and r.active_from <= now and (r.expires_at is None or r.expires_at > now) for r in rows)


def _is_published(row: SigningKey, now: datetime) -> bool:
    return row.created_at <= now and (row.expires_at is None or row.expires_at > now)


@contextmanager
def exclusive_key_session(engine: Engine) -> Iterator[Session]:
    """A session whose transaction no other key creation, in any process, runs beside.

    PostgreSQL: a transaction-scoped advisory lock (released at commit or rollback). SQLite:
    ``BEGIN IMMEDIATE`` takes the database's write lock before anything is read, so what is
    read under it is current (the busy timeout makes the next writer wait its turn).
    Committed when the block ends normally, rolled back otherwise.
    """
    with Session(engine, expire_on_commit=False) as session:
        if engine.dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": KEY_CREATION_LOCK})
        elif engine.dialect.name == "sqlite":
            session.execute(text("BEGIN IMMEDIATE"))
        else:  # pragma: no cover - only SQLite and PostgreSQL are supported
            raise KeyError_(f"no key creation lock for {engine.dialect.name}")
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


class KeyStore:
    """Signing keys read from the database, cached for ``CACHE_SECONDS`` per process.

    What requests use — the published JWK Set as a document, as bytes and as a joserfc
    ``KeySet``, and the decrypted private keys — is built once per change of the published set,
    not per request.
    """

    def __init__(self, engine: Engine, box: SecretBox, clock: Clock) -> None:
        self._engine = engine
        self._box = box
        self._clock = clock
        self._lock = threading.Lock()
        self._rows: list[SigningKey] = []
        self._loaded_at: datetime | None = None
        self._unknown_kid_refresh_at: datetime | None = None
        self._private: dict[str, AnyKey] = {}
        self._active: dict[str, ActiveKey] = {}  # the opened keys with their cryptography form, by kid
        self._published: _Published | None = None

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

    def cached(self) -> bool:
        """The keys were read less than ``CACHE_SECONDS`` ago and the published set is built, so
        :meth:`jwks_json` answers from memory without a database read: the protocol front
        (idp/oauth/front.py) serves the JWK Set on the event loop then, and in the thread pool
        when a read is due."""
        loaded = self._loaded_at
        return (
            loaded is not None
            and self._published is not None
            and (self._clock() - loaded).total_seconds() <= CACHE_SECONDS
        )

    def ensure(self, *, alg: str = DEFAULT_ALG) -> None:
        """Bootstrap: make a key that signs at once if no key of ``alg`` can sign now."""
        if not _can_sign(self._load(force=True), alg, self._clock()):
            self.create_if_missing(alg=alg)

    def create_if_missing(self, *, alg: str = DEFAULT_ALG) -> None:
        """Insert-or-reread under the key creation lock: a key of ``alg`` that signs from now is
        added only if, read under the lock, there is none; then this worker's cache is reloaded.
        However many workers race here on a fresh database, one key is created and all use it."""
        with exclusive_key_session(self._engine) as session:
            now = self._clock()
            rows = list(session.exec(select(SigningKey).where(col(SigningKey.alg) == alg)).all())
            if not _can_sign(rows, alg, now):
                add_key(session=session, box=self._box, alg=alg, now=now, active_from=now)
        self.refresh()

    def published(self) -> list[SigningKey]:
        now = self._clock()
        return [r for r in self._load() if _is_published(r, now)]

    def _published_set(self) -> _Published:
        published = self.published()
        if not published:
            self.ensure()
            published = self.published()
        kids = frozenset(r.kid for r in published)
        cached = self._published
        if cached is None or cached.kids != kids:
            jwks = {"keys": [dict(r.public_jwk) for r in published]}
            keyset = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
            cached = _Published(
                kids=kids,
                jwks=jwks,
                jwks_json=json_bytes(jwks),
                keyset=keyset,
                by_kid=_published_keys(published, keyset),
            )
            self._published = cached
        return cached

    def jwks(self) -> dict[str, Any]:
        """RFC 7517 §5 JWK Set of every published key (verification keys only)."""
        document: dict[str, Any] = json.loads(self._published_set().jwks_json)  # a copy the caller may change
        return document

    def jwks_json(self) -> bytes:
        """The JWK Set document as served (built once per change of the published set)."""
        return self._published_set().jwks_json

    def verification_keys(self, kid: str | None = None) -> KeySet:
        """The published keys as a joserfc KeySet. Given the ``kid`` of a token to verify that is
        not among them, the keys are re-read once first (OIDC Core §10.1.1; rate-limited, see the
        module docstring): another worker may have just created it."""
        return self._published_for(kid).keyset

    def verification_key(self, kid: str) -> PublishedKey | None:
        """The published key named ``kid``, re-read first when unknown, as :meth:`verification_keys`."""
        return self._published_for(kid).by_kid.get(kid)

    def is_published(self, kid: str) -> bool:
        """Whether ``kid`` is published now (no re-read: a key once verified with and gone since is
        unpublished, RFC 7517 §5); what a cache of verified tokens asks on every use."""
        return kid in self._published_set().kids

    def _published_for(self, kid: str | None) -> _Published:
        published = self._published_set()
        if kid is not None and kid not in published.kids and self._may_refresh_for_unknown_kid():
            self.refresh()
            published = self._published_set()
        return published

    def _may_refresh_for_unknown_kid(self) -> bool:
        now = self._clock()
        with self._lock:
            last = self._unknown_kid_refresh_at
            if last is not None and (now - last).total_seconds() < UNKNOWN_KID_COOLDOWN_SECONDS:
                return False
            self._unknown_kid_refresh_at = now
            return True

    def openable(self) -> bool:
        """Readiness (issue 12 item 8): every published private key opens with this deployment's
        secret. Keys sealed under another ``GENBA_SECRET_KEY`` make the provider unable to sign
        anything, so the instance must not be taken as ready. Reads only; creates nothing."""
        for row in self.published():
            if row.kid in self._private:
                continue
            try:
                self._private[row.kid] = import_private(json.loads(self._box.open(row.private_jwk_enc)))
            except SecretBoxError:
                return False
        return True

    def signing_key(self, alg: str = DEFAULT_ALG) -> ActiveKey:
        """The newest key of ``alg`` that is past its activation time."""
        now = self._clock()
        candidates = [r for r in self.published() if r.alg == alg and r.active_from <= now]
        if not candidates:
            self.ensure(alg=alg)
            now = self._clock()  # the bootstrap key is active from the instant ensure() read
            candidates = [r for r in self.published() if r.alg == alg and r.active_from <= now]
        row = max(candidates, key=lambda r: r.active_from)
        active = self._active.get(row.kid)
        if active is None:
            key = self._private.get(row.kid) or import_private(json.loads(self._box.open(row.private_jwk_enc)))
            self._private[row.kid] = key
            active = self._active[row.kid] = _active(row.kid, row.alg, key)
        return active


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
