"""Verifying a presented SD-JWT VC (RFC 9901 §7, SD-JWT VC §3), for gates and tests:
issuer signature through the ``x5c`` chain to a pinned root (offline) or a given key, every
disclosure digest, key binding (nonce, audience, ``sd_hash``, ``iat`` within a skew), expiry,
and status from a status list token that is itself verified and fresh enough.

A credential's ``iat`` must fall inside the signing key's use period, read from its certificate
(wallet.keys: a key signs for USE_DAYS, its certificate lasts CREDENTIAL_MAX_DAYS longer so what it
signed stays verifiable): a key past its use period (retired) cannot sign anything a verifier accepts,
whether dated now or before the key existed, and nothing dated in the future is accepted."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from joserfc.jwk import ECKey

from common import jws
from common.errors import GenbaError, Message, bilingual
from common.lru import LRU
from common.messages import message
from wallet import sdjwt, status
from wallet.keys import Leaf, verified_leaf


class VerificationError(GenbaError, ValueError):
    """``code`` is stable; ``ja``/``en`` are the plain-language reason for the gate's red screen
    (``credential.*`` in the catalogue)."""

    status = 400

    def __init__(self, code: str, ja: Message | str, en: str | None = None) -> None:
        super().__init__(bilingual(ja, en), code=code)


@dataclass(frozen=True)
class Verified:
    claims: dict[str, Any]
    vct: str
    status_uri: str | None
    status_index: int | None
    #: the key-binding JWT's ``iat`` (None when key binding was not required)
    kb_iat: int | None = None


def _fail(code: str, text: Message) -> VerificationError:
    return VerificationError(code, text)


def issuer_key(
    header: dict[str, Any], *, root_pem: str | None, key: ECKey | None, now: datetime, issuer: str | None = None
) -> ECKey | Leaf:
    """The key that must have signed: the ``x5c`` leaf under the pinned root, certifying ``issuer``
    when given (SD-JWT VC §3.5), or the key the caller already trusts."""
    if root_pem is not None:
        x5c = header.get("x5c")
        if not isinstance(x5c, list) or not x5c:
            raise _fail("no_chain", message("credential.no_chain"))
        try:
            return verified_leaf(x5c, root_pem, now=now, issuer=issuer)
        except (ValueError, TypeError, IndexError) as exc:
            raise _fail("untrusted_issuer", message("credential.untrusted_issuer", reason=exc)) from None
        except Exception:  # cryptography's InvalidSignature
            raise _fail("untrusted_issuer", message("credential.not_from_root")) from None
    if key is None:
        raise _fail("untrusted_issuer", message("credential.no_issuer_key"))
    return key


def verify(
    presentation: str,
    *,
    now: datetime,
    aud: str,
    nonce: str,
    skew: timedelta,
    root_pem: str | None = None,
    key: ECKey | None = None,
    require_kb: bool = True,
) -> Verified:
    try:
        parsed = sdjwt.parse(presentation)
        compact = _issuer_compact(parsed.issuer_jwt)
        header = compact.header
        unverified = compact.claims
        iss = unverified.get("iss") if isinstance(unverified, dict) else None
        if not isinstance(iss, str):
            raise _fail("malformed", message("credential.no_issuer"))
        signer = issuer_key(header, root_pem=root_pem, key=key, now=now, issuer=iss)
        payload = _verified_issuer_jwt(compact, signer)
        claims = sdjwt.resolve(payload, parsed.disclosures)
    except VerificationError:
        raise  # already a precise reason (untrusted issuer, no chain): not "cannot be read"
    except sdjwt.SdJwtError as exc:
        raise _fail(exc.code, message("credential.tampered", reason=exc)) from None
    except (ValueError, UnicodeDecodeError):
        raise _fail("malformed", message("credential.unreadable")) from None
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp + skew.total_seconds() < now.timestamp():
        raise _fail("expired", message("credential.expired"))
    if isinstance(signer, Leaf):
        _signed_in_use_period(claims.get("iat"), signer.signing_window, now=now, skew=skew)
    kb: dict[str, Any] = {}
    if require_kb:
        cnf = claims.get("cnf", {}).get("jwk") if isinstance(claims.get("cnf"), dict) else None
        if not isinstance(cnf, dict):
            raise _fail("no_holder_key", message("credential.no_holder_key"))
        try:
            kb = sdjwt.verify_key_binding(
                parsed, cnf, aud=aud, nonce=nonce, now=int(now.timestamp()), skew=int(skew.total_seconds())
            )
        except sdjwt.SdJwtError as exc:
            raise _fail(exc.code, message("credential.holder_binding", reason=exc)) from None
    reference = claims.get("status", {}).get("status_list") if isinstance(claims.get("status"), dict) else None
    return Verified(
        claims,
        str(claims.get("vct")),
        reference.get("uri") if reference else None,
        reference.get("idx") if reference else None,
        kb.get("iat") if isinstance(kb.get("iat"), int) else None,
    )


#: Issuer-signed JWTs as parsed (header checked, signature not yet), by the exact string, and those whose
#: signature verified, by (signing input, signature, the issuer key's point): a gate sees the same
#: credentials day after day (issue 14), and parsing one and checking its ES256 signature were a third of
#: a check. A signature verified once by the same key over the same bytes stays verified; everything
#: that depends on the moment (the certificate's validity, expiry, the signing period, status, key
#: binding) is checked on every use, outside these caches.
_PARSED: LRU[str, jws.Compact] = LRU(1024)
_SIGNED: LRU[tuple[bytes, bytes, bytes], dict[str, Any]] = LRU(1024)


def forget_issuer_jwts() -> None:
    """Empty the caches of issuer JWTs (what a credential never seen before costs: bench gate)."""
    _PARSED.clear()
    _SIGNED.clear()


def _issuer_compact(issuer_jwt: str) -> jws.Compact:
    compact = _PARSED.get(issuer_jwt)
    if compact is None:
        compact = sdjwt.issuer_compact(issuer_jwt)
        _PARSED.put(issuer_jwt, compact)
    return compact


def _verified_issuer_jwt(compact: jws.Compact, signer: ECKey | Leaf) -> dict[str, Any]:
    """The issuer JWT's payload once its signature by ``signer`` and its ``typ`` verified (RFC 9901
    §7.1 step 2, SD-JWT VC §3.2.1)."""
    if isinstance(signer, Leaf):
        public, point = signer.public, signer.point
    else:
        raw = signer.public_key
        if not isinstance(raw, ec.EllipticCurvePublicKey):
            raise _fail("untrusted_issuer", message("credential.no_issuer_key"))
        public, point = raw, raw.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    key = (compact.signing_input, compact.signature, point)
    payload = _SIGNED.get(key)
    if payload is None:
        payload = sdjwt.verify_issuer_compact(compact, public)[1]
        _SIGNED.put(key, payload)
    return payload


def _signed_in_use_period(iat: Any, window: tuple[datetime, datetime], *, now: datetime, skew: timedelta) -> None:
    """``iat`` is a number, not in the future, and inside the signing key's use period (issue 12, item 9:
    a retired key signing backdated records). A credential dated after the key's use period ended was
    signed by a retired key; one dated before its certificate began was backdated."""
    if not isinstance(iat, int) or isinstance(iat, bool):
        raise _fail("malformed", message("credential.no_iat"))
    begins, ends = window
    issued = datetime.fromtimestamp(iat, tz=now.tzinfo)
    if issued > now + skew:
        raise _fail("invalid_iat", message("credential.future_iat"))
    if not begins - skew <= issued <= ends + skew:
        raise _fail(
            "untrusted_issuer",
            message("credential.outside_key_period"),
        )


#: a status list token's size limit: what joserfc allowed with sdjwt.REGISTRY (header, payload and
#: signature limits together), which the lists were read with before
MAX_LIST_LENGTH = 16384 + 128000 + 1024


@dataclass(frozen=True)
class _List:
    typ: object
    claims: dict[str, Any]
    raw: bytes | None  # None: the list inside cannot be read
    bits: int


#: Status list tokens already verified, by (the token as received, the signer's public point). A gate
#: checks many credentials against the same few lists between syncs; verifying and inflating 256 KiB
#: each time was half of a check (bench gate). Freshness is still judged on every call, against ``now``.
_LISTS: LRU[tuple[str, bytes], _List] = LRU(32)


def _verified_list(list_token: str, signer: ECKey) -> _List:
    public = signer.public_key
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise _fail("status_list_invalid", message("credential.status_signature"))
    key = (list_token, public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))
    cached = _LISTS.get(key)
    if cached is not None:
        return cached
    try:
        header, claims = jws.decode_jwt(list_token, public, algs=("ES256",), max_length=MAX_LIST_LENGTH)
    except jws.JWSError:
        raise _fail("status_list_invalid", message("credential.status_signature")) from None
    lst = claims.get("status_list", {})
    try:
        raw: bytes | None = status.inflate(sdjwt.b64url_decode(lst["lst"]))
        bits = int(lst["bits"])
    except (KeyError, ValueError, TypeError, AttributeError, zlib.error):
        raw, bits = None, 0
    entry = _List(header.get("typ"), claims, raw, bits)
    _LISTS.put(key, entry)
    return entry


def check_status(verified: Verified, list_token: str, *, signer: ECKey, now: datetime, grace: timedelta) -> int:
    """Verify the status list token and read the credential's entry; a list older than ``ttl`` plus
    ``grace`` (or past ``exp``) fails closed (JanssenProject #14409 accepted stale lists forever).

    draft-ietf-oauth-status-list §8.3 (validation) and §13.7 (ttl)."""
    checked = _verified_list(list_token, signer)
    claims = checked.claims
    if checked.typ != "statuslist+jwt" or claims.get("sub") != verified.status_uri:
        raise _fail("status_list_invalid", message("credential.status_not_ours"))
    iat, ttl, exp = claims.get("iat", 0), claims.get("ttl", 0), claims.get("exp")
    try:
        stale = (isinstance(exp, int) and exp < now.timestamp()) or now.timestamp() > iat + ttl + grace.total_seconds()
    except TypeError:  # iat or ttl not numbers
        raise _fail("status_list_invalid", message("credential.status_unreadable")) from None
    if stale:
        raise _fail(
            "status_list_stale",
            message("credential.status_stale"),
        )
    try:
        index = int(verified.status_index or 0)
        if checked.raw is None or checked.bits not in (1, 2, 4, 8) or index < 0:
            raise ValueError
        value = status.read(checked.raw, index, checked.bits)
    except (ValueError, IndexError, TypeError):
        raise _fail("status_list_invalid", message("credential.status_unreadable")) from None
    if value == status.INVALID:
        raise _fail("revoked", message("credential.revoked"))
    if value == status.SUSPENDED:
        raise _fail("suspended", message("credential.suspended"))
    return value
