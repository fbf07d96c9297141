"""Credential issuer keys: a root certificate verifiers pin, and an ES256 issuer key certified by it.

SD-JWT VCs carry the issuer certificate in ``x5c`` (RFC 7515 §4.1.6) so a gate that works offline
can check the signature against the pinned root without fetching anything; the same key is also
published at ``/.well-known/jwt-vc-issuer`` (SD-JWT VC §5). Private keys are encrypted at rest.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from joserfc.jwk import ECKey
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from common.lru import LRU
from wallet.models import IssuerKey
from wallet.ports import Sealer

ROOT_YEARS = 10
#: A key signs new credentials for USE_DAYS; its certificate covers that plus the longest credential
#: lifetime, so everything it signed verifies until its own ``exp`` (RFC 5280 §4.1.2.5).
USE_DAYS = 365
CREDENTIAL_MAX_DAYS = 365
ISSUER_DAYS = USE_DAYS + CREDENTIAL_MAX_DAYS


@dataclass(frozen=True)
class IssuerKeys:
    kid: str
    key: ECKey
    certificate_der: bytes
    root_pem: str
    use_until: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.use_until is None or now < self.use_until

    @property
    def x5c(self) -> list[str]:
        """The leaf only: the trust anchor is pinned by verifiers, never sent (HAIP)."""
        return [base64.b64encode(self.certificate_der).decode()]


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Genba ID"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _store(
    session: Session, sealer: Sealer, kind: str, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate, now: datetime
) -> IssuerKey:
    jwk = ECKey.import_key(_private_pem(key))
    row = IssuerKey(
        kid=jwk.thumbprint(),
        kind=kind,
        private_enc=sealer.seal(_private_pem(key)),
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        public_jwk={**jwk.as_dict(private=False), "kid": jwk.thumbprint(), "alg": "ES256", "use": "sig"},
        created_at=now,
        not_after=cert.not_valid_after_utc,
    )
    session.add(row)
    return row


def create(session: Session, sealer: Sealer, *, issuer: str, now: datetime, kind: str = "issuer") -> None:
    """A new root (if none) and a new key certified by it: the credential ``issuer`` key, or the gate's
    ``verifier`` key whose certificate names the host in a DNS SAN (OpenID4VP ``x509_san_dns`` client ids)."""
    root_row = session.exec(select(IssuerKey).where(col(IssuerKey.kind) == "root")).first()
    if root_row is None:
        root_key = ec.generate_private_key(ec.SECP256R1())
        root_cert = (
            x509.CertificateBuilder()
            .subject_name(_name("Genba ID Credential Root"))
            .issuer_name(_name("Genba ID Credential Root"))
            .public_key(root_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=365 * ROOT_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(root_key, hashes.SHA256())
        )
        root_row = _store(session, sealer, "root", root_key, root_cert, now)
    root_key_loaded = serialization.load_pem_private_key(sealer.open(root_row.private_enc), None)
    assert isinstance(root_key_loaded, ec.EllipticCurvePrivateKey)
    root_cert = x509.load_pem_x509_certificate(root_row.certificate_pem.encode())
    key = ec.generate_private_key(ec.SECP256R1())
    host = issuer.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(issuer)]
    if kind == "verifier":
        names = [x509.DNSName(host)]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Genba ID Credential Issuer" if kind == "issuer" else "Genba ID Gate Verifier"))
        .issuer_name(root_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=ISSUER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(root_key_loaded, hashes.SHA256())
    )
    _store(session, sealer, kind, key, cert, now)


class KeyRing:
    """The current issuer key (created on first use), cached per process until its use period ends.

    Workers may start at once: a unique index allows one root, so a worker that lost the race to
    create it rolls back and loads the winner's (two issuer keys under that root are harmless)."""

    def __init__(self, engine: Engine, sealer: Sealer, *, issuer: str) -> None:
        self._engine, self._sealer, self._issuer = engine, sealer, issuer
        self._current: IssuerKeys | None = None
        self._verifier: IssuerKeys | None = None

    def current(self, now: datetime) -> IssuerKeys:
        """The key to sign with at ``now``: its certificate outlives every credential it signs now."""
        if self._current is None or not self._current.usable(now):
            self._current = self._load("issuer", now)
        return self._current

    def verifier(self, now: datetime) -> IssuerKeys:
        """The gate's request-object signing key (OpenID4VP ``x509_san_dns``)."""
        if self._verifier is None or not self._verifier.usable(now):
            self._verifier = self._load("verifier", now)
        return self._verifier

    def _load(self, kind: str, now: datetime) -> IssuerKeys:
        for _ in range(3):
            with Session(self._engine, expire_on_commit=False) as session:
                row = self._newest(session, now, kind)
                if row is None:
                    try:
                        create(session, self._sealer, issuer=self._issuer, now=now, kind=kind)
                        session.commit()
                    except IntegrityError:  # another worker created the root first: use theirs
                        session.rollback()
                        continue
                    row = self._newest(session, now, kind)
                assert row is not None
                root = session.exec(select(IssuerKey).where(col(IssuerKey.kind) == "root")).one()
            key = ECKey.import_key(self._sealer.open(row.private_enc))
            cert = x509.load_pem_x509_certificate(row.certificate_pem.encode())
            return IssuerKeys(
                row.kid,
                key,
                cert.public_bytes(serialization.Encoding.DER),
                root.certificate_pem,
                use_until=row.created_at + timedelta(days=USE_DAYS),
            )
        raise RuntimeError("could not create or load the credential keys")

    def openable(self, now: datetime) -> bool:
        """Readiness (issue 12 item 8): the keys in use open with this deployment's secret (sealed
        under another one, nothing can be signed). Reads only; creates nothing."""
        with Session(self._engine, expire_on_commit=False) as session:
            rows = [r for r in (self._newest(session, now, k) for k in ("issuer", "verifier")) if r is not None]
        for row in rows:
            try:
                self._sealer.open(row.private_enc)
            except ValueError:
                return False
        return True

    def _newest(self, session: Session, now: datetime, kind: str = "issuer") -> IssuerKey | None:
        """The newest key still in its use period (and so valid for CREDENTIAL_MAX_DAYS more)."""
        stmt = (
            select(IssuerKey)
            .where(col(IssuerKey.kind) == kind)
            .where(col(IssuerKey.created_at) > now - timedelta(days=USE_DAYS))
            .where(col(IssuerKey.not_after) > now)
            .order_by(col(IssuerKey.created_at).desc())
        )
        return session.exec(stmt).first()

    def signing(self, now: datetime) -> list[dict[str, object]]:
        """Public JWKs of the issuer keys still in their use period: the only ones whose signature on
        something new (a status list) is accepted. A retired key's credentials still verify (through
        ``x5c``, within its use period), but it signs nothing a gate trusts (issue 12, item 9)."""
        self.current(now)  # rotate in a new key first if the current one just retired
        with Session(self._engine) as session:
            rows = session.exec(
                select(IssuerKey)
                .where(col(IssuerKey.kind) == "issuer")
                .where(col(IssuerKey.created_at) > now - timedelta(days=USE_DAYS))
                .where(col(IssuerKey.not_after) > now)
            ).all()
            return [json.loads(json.dumps(r.public_jwk)) for r in rows]

    def published(self) -> list[dict[str, object]]:
        """Public JWKs of every issuer key that can still have valid credentials out there."""
        with Session(self._engine) as session:
            rows = session.exec(select(IssuerKey).where(col(IssuerKey.kind) == "issuer")).all()
            return [json.loads(json.dumps(r.public_jwk)) for r in rows]


@dataclass(frozen=True)
class Leaf:
    """An ``x5c`` leaf certificate whose signature by the pinned root has been verified, parsed once."""

    public: ec.EllipticCurvePublicKey
    not_before: datetime
    not_after: datetime
    #: URI subject alternative names (SD-JWT VC §3.5: the credential issuer the leaf certifies)
    uris: frozenset[str]
    #: the public key as an uncompressed point (SEC 1 §2.3.3): what caches of its signatures are keyed by
    point: bytes

    def check(self, *, now: datetime, issuer: str | None) -> None:
        """What depends on the moment and the credential: valid at ``now``, naming ``issuer``."""
        if not (self.not_before <= now <= self.not_after):
            raise ValueError("the issuer certificate is not valid now or not issued by the pinned root")
        if issuer is not None and issuer not in self.uris:
            raise ValueError("the certificate does not name the credential issuer")

    @property
    def signing_window(self) -> tuple[datetime, datetime]:
        """See :func:`signing_window`."""
        return self.not_before, self.not_after - timedelta(days=CREDENTIAL_MAX_DAYS)


#: Leaves verified under a root, by the exact (base64 DER leaf, root PEM) strings (issue 14: a gate sees
#: the same few issuer certificates all day; parsing both and checking the root's ES256 signature was a
#: quarter of a card check). Only leaves the root signed get in, so the cache cannot be filled from outside.
_LEAVES: LRU[tuple[str, str], Leaf] = LRU(64)


def verified_leaf(x5c: list[str], root_pem: str, *, now: datetime, issuer: str | None = None) -> Leaf:
    """The ``x5c`` leaf, signed by the pinned root (verified once per exact pair of certificates),
    valid at ``now`` and certifying ``issuer`` when given (checked on every call)."""
    entry = x5c[0]
    if not isinstance(entry, str):
        raise TypeError("x5c entries are strings")
    leaf = _LEAVES.get((entry, root_pem))
    if leaf is None:
        leaf = _verify_leaf(entry, root_pem)
        _LEAVES.put((entry, root_pem), leaf)
    leaf.check(now=now, issuer=issuer)
    return leaf


def _verify_leaf(entry: str, root_pem: str) -> Leaf:
    cert = x509.load_der_x509_certificate(base64.b64decode(entry, validate=True))
    root = x509.load_pem_x509_certificate(root_pem.encode())
    public = root.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise TypeError("the pinned root is not an EC key")
    public.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    if cert.issuer != root.subject:
        raise ValueError("the issuer certificate is not valid now or not issued by the pinned root")
    leaf_key = cert.public_key()
    if not isinstance(leaf_key, ec.EllipticCurvePublicKey):
        raise TypeError("the issuer certificate is not an EC key")
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = frozenset(san.get_values_for_type(x509.UniformResourceIdentifier))
    except x509.ExtensionNotFound:
        uris = frozenset()
    point = leaf_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return Leaf(leaf_key, cert.not_valid_before_utc, cert.not_valid_after_utc, uris, point)


def signing_window(x5c: list[str]) -> tuple[datetime, datetime]:
    """When the ``x5c`` leaf's key may sign: from its certificate's start to the end of its use period
    (the certificate outlives the use period by CREDENTIAL_MAX_DAYS, see ``create``). Call after
    ``verify_chain``; a key past its use period is retired and what it signs later is not accepted."""
    leaf = x509.load_der_x509_certificate(base64.b64decode(x5c[0]))
    return leaf.not_valid_before_utc, leaf.not_valid_after_utc - timedelta(days=CREDENTIAL_MAX_DAYS)


def verify_chain(x5c: list[str], root_pem: str, *, now: datetime, issuer: str | None = None) -> ECKey:
    """Offline check used by verifiers: the leaf in ``x5c`` is signed by the pinned root and valid now.

    With ``issuer``, the leaf must certify that issuer: a URI SAN equal to ``iss`` (SD-JWT VC §3.5,
    x5c key resolution). The gate's request-object key has a DNS SAN only, so it never passes.
    The leaf as a joserfc key; :func:`verified_leaf` gives it as parsed (what the gate uses)."""
    leaf = verified_leaf(x5c, root_pem, now=now, issuer=issuer)
    return ECKey.import_key(
        leaf.public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
