"""OAuth 2.0 Attestation-Based Client Authentication (draft-ietf-oauth-attestation-based-client-auth,
as OpenID4VC HAIP 1.0 §4.3 requires of wallets): ``token_endpoint_auth_method`` ``attest_jwt_client_auth``.

A wallet instance sends two JWTs in HTTP headers (draft §5.1, §6):

- ``OAuth-Client-Attestation`` (``typ`` ``oauth-client-attestation+jwt``), signed by its *wallet
  provider* (the client attester): ``iss`` the provider, ``sub`` the ``client_id``, ``exp``, and
  ``cnf.jwk`` the instance's key (RFC 7800);
- ``OAuth-Client-Attestation-PoP`` (``typ`` ``oauth-client-attestation-pop+jwt``), signed by that
  key: ``aud`` this authorization server's issuer identifier (RFC 8414), ``jti``, ``iat`` (and in the
  drafts HAIP 1.0 cites, ``iss`` the ``client_id``).

Who is a wallet provider is the operator's decision alone (issue 12, mechanism "Credentials go only
into a holder's wallet"): the trusted providers and their public keys come from a file named by
``GENBA_WALLET_PROVIDERS``; by default nobody is trusted and every attestation is refused.
A client that authenticates this way counts as a holder's wallet *for that request*
(``app.wallet_wiring.CredentialDetails``, ``idp.oauth.issuance.audience_for``).

No library implements this draft; joserfc does the JWS work, the claim rules are written here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey
from joserfc.jws import extract_compact
from sqlmodel import Session

from common.errors import GenbaError
from idp.oauth.replay import ReplayCache
from idp.runtime import Clock

METHOD = "attest_jwt_client_auth"
ATTESTATION_HEADER = "OAuth-Client-Attestation"
POP_HEADER = "OAuth-Client-Attestation-PoP"
ATTESTATION_TYP = "oauth-client-attestation+jwt"
POP_TYP = "oauth-client-attestation-pop+jwt"
#: asymmetric algorithms only (draft §5.1: a MAC-based algorithm MUST NOT be used)
ALGS = ("ES256", "ES384", "PS256", "RS256", "EdDSA")
#: how old a PoP may be (draft §12.1: the AS may reject an ``iat`` unreasonably far in the past);
#: its ``jti`` is remembered this long, so a replay inside the window is refused too
POP_WINDOW = timedelta(minutes=5)
MAX_JWT_LENGTH = 8192


class AttestationError(GenbaError, ValueError):
    """The attestation or its proof is not acceptable: ``invalid_client`` (RFC 6749 §5.2)."""

    code = "invalid_client"
    status = 401


@dataclass(frozen=True)
class Attested:
    """What a verified attestation says: which provider vouched for which client instance key."""

    provider: str
    client_id: str
    instance_jwk: dict[str, Any]


class WalletProviders:
    """The wallet providers this deployment trusts: issuer → its public JWK Set."""

    def __init__(self, providers: dict[str, KeySet] | None = None) -> None:
        self._providers = dict(providers or {})

    def keys_of(self, issuer: str) -> KeySet | None:
        return self._providers.get(issuer)

    def issuers(self) -> list[str]:
        return sorted(self._providers)

    def kids(self, issuer: str) -> list[str]:
        keys = self._providers.get(issuer)
        return [str(k.kid) for k in keys.keys] if keys else []

    def __bool__(self) -> bool:
        return bool(self._providers)


def parse_wallet_providers(data: Any) -> WalletProviders:
    """``{"providers": [{"issuer": "https://…", "jwks": {"keys": [...]}}]}``; public keys only,
    issuers unique; anything else is a ``ValueError`` naming what is wrong."""
    if not isinstance(data, dict) or not isinstance(data.get("providers"), list):
        raise ValueError('the file must be a JSON object with a "providers" list')
    out: dict[str, KeySet] = {}
    for entry in data["providers"]:
        issuer = entry.get("issuer") if isinstance(entry, dict) else None
        jwks = entry.get("jwks") if isinstance(entry, dict) else None
        if not isinstance(issuer, str) or not issuer or len(issuer) > 500:
            raise ValueError("every provider needs an issuer (a string)")
        if issuer in out:
            raise ValueError(f"provider {issuer} is listed twice")
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
            raise ValueError(f"provider {issuer} needs a jwks with at least one key")
        for key in jwks["keys"]:
            if not isinstance(key, dict) or key.get("kty") not in ("EC", "RSA", "OKP"):
                raise ValueError(f"provider {issuer}: only EC, RSA and OKP public keys are accepted")
            if "d" in key or "p" in key:
                raise ValueError(f"provider {issuer}: the jwks contains a private key; give the public key only")
        try:
            out[issuer] = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError) as exc:
            raise ValueError(f"provider {issuer}: the jwks is not valid ({type(exc).__name__})") from None
    return WalletProviders(out)


def load_wallet_providers(path: Path | None) -> WalletProviders:
    """The trusted providers from ``path`` (``GENBA_WALLET_PROVIDERS``); none when unset."""
    if path is None:
        return WalletProviders()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read wallet providers from {path}: {type(exc).__name__}") from None
    return parse_wallet_providers(data)


def _header(value: str, typ: str) -> dict[str, Any]:
    try:
        header = extract_compact(value.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeError):
        raise AttestationError(f"the {typ} is not a compact JWS") from None
    if header.get("typ") != typ:
        raise AttestationError(f"typ must be {typ}")
    if header.get("alg") not in ALGS:
        raise AttestationError("the signing algorithm is not accepted")
    if "jwk" in header or "jku" in header or "x5u" in header:
        raise AttestationError("keys are not taken from the JWS header")
    return header


def _unverified_claims(value: str) -> dict[str, Any]:
    try:
        claims = json.loads(extract_compact(value.encode("ascii")).payload)
    except (JoseError, ValueError, UnicodeError):
        raise AttestationError("the client attestation is not a JWT") from None
    if not isinstance(claims, dict):
        raise AttestationError("the client attestation is not a JWT")
    return claims


def _instant(claims: dict[str, Any], name: str) -> datetime | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise AttestationError(f"{name} must be a NumericDate")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise AttestationError(f"{name} is out of range") from None


def attested_subject(attestation: str) -> str | None:
    """The ``sub`` the attestation names (unverified: used only to find the client, then verified)."""
    sub = _unverified_claims(attestation).get("sub") if len(attestation) <= MAX_JWT_LENGTH else None
    return sub if isinstance(sub, str) else None


class AttestationVerifier:
    """Checks both JWTs (draft §5.2 and §6 processing rules) with an injected clock, and spends the
    PoP's ``jti`` once in the replay cache (purged with the other one-time values)."""

    def __init__(
        self,
        providers: WalletProviders,
        *,
        issuer: str,
        clock: Clock,
        replay: ReplayCache,
        skew: timedelta,
        window: timedelta = POP_WINDOW,
    ) -> None:
        self.providers = providers
        self._issuer = issuer
        self._clock = clock
        self._replay = replay
        self._skew = skew
        self._window = window

    def verify(self, session: Session, *, attestation: str, pop: str, client_id: str) -> Attested:
        if len(attestation) > MAX_JWT_LENGTH or len(pop) > MAX_JWT_LENGTH:
            raise AttestationError("the client attestation is too large")
        now = self._clock()
        claims = self._attestation(attestation, client_id, now)
        jwk = claims["cnf"]["jwk"]
        self._pop(session, pop, jwk, client_id, now)
        return Attested(provider=claims["iss"], client_id=client_id, instance_jwk=dict(jwk))

    def _attestation(self, value: str, client_id: str, now: datetime) -> dict[str, Any]:
        _header(value, ATTESTATION_TYP)
        issuer = _unverified_claims(value).get("iss")
        keys = self.providers.keys_of(issuer) if isinstance(issuer, str) else None
        if keys is None:
            raise AttestationError("the client attestation is not from a trusted wallet provider")
        try:
            claims = jwt.decode(value, keys, algorithms=list(ALGS)).claims
        except (JoseError, ValueError, TypeError):
            raise AttestationError("the client attestation signature does not verify") from None
        if claims.get("iss") != issuer:  # the key set was chosen by the unverified iss
            raise AttestationError("the client attestation issuer does not match")
        if claims.get("sub") != client_id:
            raise AttestationError("the client attestation is for another client")
        expires = _instant(claims, "exp")
        if expires is None or expires + self._skew <= now:
            raise AttestationError("the client attestation has expired")
        for name in ("nbf", "iat"):
            moment = _instant(claims, name)
            if moment is not None and moment - self._skew > now:
                raise AttestationError(f"the client attestation {name} is in the future")
        cnf = claims.get("cnf")
        jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
        if not isinstance(jwk, dict) or "d" in jwk or jwk.get("kty") not in ("EC", "RSA", "OKP"):
            raise AttestationError("the client attestation needs cnf.jwk, a public key (RFC 7800 §3.2)")
        return claims

    def _pop(self, session: Session, value: str, jwk: dict[str, Any], client_id: str, now: datetime) -> None:
        _header(value, POP_TYP)
        try:
            key = {"EC": ECKey, "RSA": RSAKey, "OKP": OKPKey}[jwk["kty"]].import_key(jwk)  # type: ignore[attr-defined]
            claims = jwt.decode(value, key, algorithms=list(ALGS)).claims
        except (JoseError, ValueError, TypeError, KeyError):
            raise AttestationError("the attestation PoP is not signed by the attested key") from None
        if "iss" in claims and claims["iss"] != client_id:
            raise AttestationError("the attestation PoP iss is not the client_id")
        aud = claims.get("aud")
        if not (aud == self._issuer or (isinstance(aud, list) and self._issuer in aud)):
            raise AttestationError("the attestation PoP aud is not this authorization server")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > 200:
            raise AttestationError("the attestation PoP needs a jti")
        issued = _instant(claims, "iat")
        if issued is None:
            raise AttestationError("the attestation PoP needs iat")
        if issued - self._skew > now:
            raise AttestationError("the attestation PoP iat is in the future")
        if issued + self._window < now:
            raise AttestationError("the attestation PoP is too old; make a fresh one")
        expires = _instant(claims, "exp")
        if expires is not None and expires + self._skew <= now:
            raise AttestationError("the attestation PoP has expired")
        not_before = _instant(claims, "nbf")
        if not_before is not None and not_before - self._skew > now:
            raise AttestationError("the attestation PoP is not valid yet")
        remember_until = max(issued, now) + self._window + self._skew
        replay_key = f"attpop:{client_id}:{hashlib.sha256(jti.encode()).hexdigest()}"
        if not self._replay.first_use(session, replay_key, expires_at=remember_until, now=now):
            raise AttestationError("the attestation PoP was already used")
