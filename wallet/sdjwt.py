"""SD-JWT (RFC 9901) and SD-JWT VC (draft-ietf-oauth-sd-jwt-vc): issuance with decoys, holder
presentation with a Key Binding JWT, and verification of every disclosure digest.

Written by hand on joserfc: the format is small, and the Python SD-JWT package available depends on
a second JOSE library. Interoperability is checked against the independent npm implementation
(@sd-jwt/sd-jwt-vc) and the RFC 9901 examples.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from common import jws as core
from common.errors import GenbaError
from common.lru import LRU

TYP_VC = "dc+sd-jwt"
TYP_KB = "kb+jwt"
SD_ALG = "sha-256"
MAX_SD_JWT_LENGTH = 200_000
REGISTRY = jws.JWSRegistry(algorithms=["ES256"])
REGISTRY.max_header_length = 16384  # x5c chains live in the header


class SdJwtError(GenbaError, ValueError):
    """The SD-JWT is malformed or does not verify; ``code`` is stable for callers."""

    status = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def digest(disclosure: str) -> str:
    """RFC 9901 §4.2.3: base64url(SHA-256(ASCII of the disclosure))."""
    return b64url(hashlib.sha256(disclosure.encode("ascii")).digest())


def make_disclosure(salt: str, name: str | None, value: Any) -> str:
    """RFC 9901 §4.2.1 (object property) and §4.2.2 (array element, ``name`` None)."""
    content = [salt, value] if name is None else [salt, name, value]
    return b64url(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode())


@dataclass
class Issued:
    sd_jwt: str
    disclosures: dict[str, str] = field(default_factory=dict)  # claim name -> disclosure


def issue(
    *,
    payload: dict[str, Any],
    selective: dict[str, Any],
    key: ECKey,
    header: dict[str, Any],
    decoys: int,
    token_bytes: Callable[[int], bytes] = secrets.token_bytes,
) -> Issued:
    """Sign ``payload`` with ``selective`` claims as top-level disclosures plus ``decoys`` decoy digests
    (RFC 9901 §4.2.5), digests sorted so their order reveals nothing."""
    disclosures: dict[str, str] = {}
    digests = []
    for name, value in selective.items():
        disclosure = make_disclosure(b64url(token_bytes(16)), name, value)
        disclosures[name] = disclosure
        digests.append(digest(disclosure))
    digests += [b64url(hashlib.sha256(token_bytes(32)).digest()) for _ in range(decoys)]
    body = {**payload, "_sd": sorted(digests), "_sd_alg": SD_ALG}
    signed = jwt.encode({"typ": TYP_VC, "alg": "ES256", **header}, body, key, algorithms=["ES256"], registry=REGISTRY)
    return Issued(signed + "~" + "".join(d + "~" for d in disclosures.values()), disclosures)


@dataclass(frozen=True)
class Parsed:
    issuer_jwt: str
    disclosures: tuple[str, ...]
    kb_jwt: str | None

    @property
    def without_kb(self) -> str:
        """The part the KB-JWT's ``sd_hash`` covers (RFC 9901 §4.3.1)."""
        return self.issuer_jwt + "~" + "".join(d + "~" for d in self.disclosures)


def parse(value: str) -> Parsed:
    """RFC 9901 §4: ``<issuer JWT>~<disclosure>~...~[<KB-JWT>]``."""
    if not isinstance(value, str) or len(value) > MAX_SD_JWT_LENGTH or "~" not in value:
        raise SdJwtError("malformed", "not an SD-JWT")
    parts = value.split("~")
    issuer_jwt, disclosures, last = parts[0], parts[1:-1], parts[-1]
    if issuer_jwt.count(".") != 2 or any(not d for d in disclosures):
        raise SdJwtError("malformed", "not an SD-JWT")
    return Parsed(issuer_jwt, tuple(disclosures), last or None)


def _decode_disclosure(disclosure: str) -> list[Any]:
    try:
        content = json.loads(b64url_decode(disclosure))
    except (ValueError, UnicodeDecodeError):
        raise SdJwtError("malformed_disclosure", "a disclosure is not base64url JSON") from None
    if not isinstance(content, list) or len(content) not in (2, 3) or not isinstance(content[0], str):
        raise SdJwtError("malformed_disclosure", "a disclosure is not [salt, (name,) value]")
    return content


def resolve(payload: dict[str, Any], disclosures: Iterable[str]) -> dict[str, Any]:
    """RFC 9901 §7.1 steps 3-5: every disclosure must match exactly one digest, once; claims are
    put in place (objects and array elements, recursively); ``_sd``/``_sd_alg`` removed."""
    if payload.get("_sd_alg", SD_ALG) != SD_ALG:
        raise SdJwtError("unsupported_sd_alg", "only sha-256 digests are supported")
    by_digest: dict[str, list[Any]] = {}
    for disclosure in disclosures:
        key = digest(disclosure)
        if key in by_digest:
            raise SdJwtError("duplicate_disclosure", "a disclosure appears twice")
        by_digest[key] = _decode_disclosure(disclosure)
    used: set[str] = set()
    seen: set[str] = set()  # every digest met so far, disclosed or not (§7.1 step 4)

    def once(d: Any) -> None:
        if not isinstance(d, str):
            raise SdJwtError("malformed_digest", "a digest is not a string")
        if d in seen:
            raise SdJwtError("digest_reused", "a digest is referenced twice")
        seen.add(d)

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: walk(v) for k, v in node.items() if k not in ("_sd", "_sd_alg")}
            digests = node.get("_sd", [])
            if not isinstance(digests, list):
                raise SdJwtError("malformed_digest", "_sd is not an array")
            for d in digests:
                once(d)
                if d in by_digest:
                    used.add(d)
                    content = by_digest[d]
                    if len(content) != 3:
                        raise SdJwtError("malformed_disclosure", "object disclosure without a name")
                    _, name, value = content
                    if name in ("_sd", "...") or name in out:
                        raise SdJwtError("claim_conflict", f"disclosed claim {name!r} clashes")
                    out[name] = walk(value)
            return out
        if isinstance(node, list):
            items = []
            for item in node:
                if isinstance(item, dict) and set(item) == {"..."}:
                    d = item["..."]
                    once(d)
                    if d in by_digest:
                        used.add(d)
                        content = by_digest[d]
                        if len(content) != 2:
                            raise SdJwtError("malformed_disclosure", "array disclosure with a name")
                        items.append(walk(content[1]))
                    continue
                items.append(walk(item))
            return items
        return node

    resolved = walk(payload)
    if set(by_digest) - used:
        raise SdJwtError("unreferenced_disclosure", "a disclosure matches no digest (tampered?)")
    return resolved  # type: ignore[no-any-return]


def issuer_compact(issuer_jwt: str) -> core.Compact:
    """The issuer-signed JWT parsed once, its header checked (ES256 only, see :mod:`common.jws`) but
    not its signature: :func:`verify_issuer_compact` does that. ``ValueError`` if unreadable."""
    try:
        return core.parse(issuer_jwt, algs=("ES256",), max_length=MAX_SD_JWT_LENGTH)
    except core.JWSMalformed:
        raise
    except core.JWSError as exc:
        raise SdJwtError("invalid_signature", f"issuer signature does not verify ({exc})") from None


def verify_issuer_compact(
    compact: core.Compact, key: ec.EllipticCurvePublicKey, *, typ: str = TYP_VC
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Signature by ``key`` and ``typ`` of a parsed issuer-signed JWT; returns (header, payload)."""
    try:
        core.verify(compact, key)
        payload = compact.claims
    except (core.JWSError, ValueError) as exc:
        raise SdJwtError("invalid_signature", f"issuer signature does not verify ({type(exc).__name__})") from None
    if not isinstance(payload, dict):
        raise SdJwtError("invalid_signature", "the issuer JWT's claims are not a JSON object")
    if compact.header.get("typ") != typ:
        raise SdJwtError("invalid_typ", f"typ must be {typ}")
    return compact.header, payload


def verify_issuer_jwt(
    issuer_jwt: str, keys: ECKey | KeySet | ec.EllipticCurvePublicKey, *, typ: str = TYP_VC
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Signature (ES256 only) and ``typ`` of the issuer-signed JWT; returns (header, payload).

    A key is checked by :mod:`common.jws` (issue 14: the gate's hot path); a key set by joserfc."""
    if not isinstance(keys, KeySet):
        public = keys.public_key if isinstance(keys, ECKey) else keys
        if not isinstance(public, ec.EllipticCurvePublicKey):
            raise SdJwtError("invalid_signature", "issuer signature does not verify (not an EC key)")
        try:
            compact = issuer_compact(issuer_jwt)
        except core.JWSMalformed:
            raise SdJwtError("invalid_signature", "issuer signature does not verify (malformed)") from None
        return verify_issuer_compact(compact, public, typ=typ)
    try:
        token = jwt.decode(issuer_jwt, keys, algorithms=["ES256"], registry=REGISTRY)
    except (JoseError, ValueError) as exc:
        raise SdJwtError("invalid_signature", f"issuer signature does not verify ({type(exc).__name__})") from None
    if token.header.get("typ") != typ:
        raise SdJwtError("invalid_typ", f"typ must be {typ}")
    return dict(token.header), dict(token.claims)


#: Holder keys (``cnf.jwk``) as ``cryptography`` keys and their RFC 7638 thumbprints, by their exact
#: coordinates: a gate sees the same holders' keys again and again (issue 14).
_HOLDER_KEYS: LRU[tuple[str, str], tuple[ec.EllipticCurvePublicKey, str]] = LRU(4096)


def holder_key(jwk: Any) -> tuple[ec.EllipticCurvePublicKey, str]:
    """A P-256 public JWK (RFC 7518 §6.2.1) as a key on the curve (the point is validated when
    first seen) and its RFC 7638 thumbprint; ``ValueError`` for anything else."""
    if not isinstance(jwk, dict) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise ValueError("the holder key is not a P-256 JWK")
    x, y = jwk.get("x"), jwk.get("y")
    if not isinstance(x, str) or not isinstance(y, str):
        raise ValueError("the holder key has no coordinates")
    found = _HOLDER_KEYS.get((x, y))
    if found is None:
        xb, yb = core.b64url_decode(x), core.b64url_decode(y)
        if len(xb) != 32 or len(yb) != 32:  # RFC 7518 §6.2.1.2: the full coordinate length
            raise ValueError("the holder key's coordinates are not 32 bytes")
        numbers = ec.EllipticCurvePublicNumbers(int.from_bytes(xb, "big"), int.from_bytes(yb, "big"), ec.SECP256R1())
        canonical = json.dumps({"crv": "P-256", "kty": "EC", "x": x, "y": y}, separators=(",", ":"))
        found = (numbers.public_key(), b64url(hashlib.sha256(canonical.encode()).digest()))
        _HOLDER_KEYS.put((x, y), found)
    return found


def sd_hash(parsed: Parsed) -> str:
    return b64url(hashlib.sha256(parsed.without_kb.encode("ascii")).digest())


def present(
    issued: str, *, reveal: Iterable[str], holder_key: ECKey | None, aud: str | None, nonce: str | None, iat: int
) -> str:
    """Holder side (RFC 9901 §4.3): keep the disclosures of ``reveal`` (claim names), add a KB-JWT."""
    parsed = parse(issued)
    wanted = set(reveal)
    kept = tuple(d for d in parsed.disclosures if _decode_disclosure(d)[-2] in wanted)
    chosen = Parsed(parsed.issuer_jwt, kept, None)
    if holder_key is None:
        return chosen.without_kb
    kb = jwt.encode(
        {"typ": TYP_KB, "alg": "ES256"},
        {"iat": iat, "aud": aud, "nonce": nonce, "sd_hash": sd_hash(chosen)},
        holder_key,
        algorithms=["ES256"],
    )
    return chosen.without_kb + kb


def verify_key_binding(
    parsed: Parsed, cnf_jwk: dict[str, Any], *, aud: str, nonce: str, now: int, skew: int
) -> dict[str, Any]:
    """RFC 9901 §7.3: KB-JWT signed by the ``cnf`` key, ``typ`` kb+jwt, ``aud``/``nonce`` as expected,
    ``iat`` within the skew, and ``sd_hash`` over the presentation."""
    if parsed.kb_jwt is None:
        raise SdJwtError("missing_kb", "key binding is required")
    try:
        header, claims = core.decode_jwt(parsed.kb_jwt, holder_key(cnf_jwk)[0], algs=("ES256",))
    except (ValueError, TypeError):
        raise SdJwtError("invalid_kb", "the key binding JWT does not verify with the holder key") from None
    if header.get("typ") != TYP_KB:
        raise SdJwtError("invalid_kb", "KB-JWT typ must be kb+jwt")
    if claims.get("aud") != aud:
        raise SdJwtError("invalid_kb_aud", "KB-JWT audience is not this verifier")
    if claims.get("nonce") != nonce:
        raise SdJwtError("invalid_kb_nonce", "KB-JWT nonce does not match")
    iat = claims.get("iat")
    if not isinstance(iat, int) or abs(now - iat) > skew:
        raise SdJwtError("invalid_kb_iat", "KB-JWT iat is outside the allowed clock skew")
    if claims.get("sd_hash") != sd_hash(parsed):
        raise SdJwtError("invalid_kb_sd_hash", "KB-JWT sd_hash does not match the presentation")
    return dict(claims)
