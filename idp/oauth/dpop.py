"""DPoP proof validation (RFC 9449 §4.3) and server nonces (§8).

Written by hand: authlib 1.9 has no DPoP server support and joserfc only verifies signatures.
Nonces are stateless (HMAC of a time window under a server key), so every worker accepts
every other worker's nonce without shared storage; proofs' ``jti`` go to the replay cache.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey, RSAKey
from sqlmodel import Session

from common.errors import GenbaError
from idp.oauth.config import OAuthConfig
from idp.oauth.replay import ReplayCache

ALGS = ("ES256", "ES384", "RS256", "PS256", "EdDSA")
#: RSA public keys in the ``jwk`` header exceed joserfc's default 512-byte header limit.
REGISTRY = jws.JWSRegistry(algorithms=list(ALGS))
REGISTRY.max_header_length = 4096
CHALLENGE_ALGS = " ".join(ALGS)
NONCE_WINDOW = 300


class DPoPError(GenbaError):
    """``invalid_dpop_proof`` (RFC 9449 §5, §7.1), or ``use_dpop_nonce`` with a fresh nonce (§8),
    sent back in the ``DPoP-Nonce`` header. 400 at the token endpoint (§5); a protected resource
    answers 401 with its own challenge (§7.1, ``idp.oauth.resource``)."""

    status = 400

    def __init__(self, description: str, *, error: str = "invalid_dpop_proof", nonce: str | None = None) -> None:
        super().__init__(description, code=error, headers={"DPoP-Nonce": nonce} if nonce else None)
        self.nonce = nonce


@dataclass(frozen=True)
class DPoPProof:
    jkt: str
    claims: dict[str, Any]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def normalise_htu(url: str) -> str:
    """§4.3 item 9: compare without query and fragment, scheme and host case-insensitively."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", "", ""))


def access_token_hash(token: str) -> str:
    return _b64(hashlib.sha256(token.encode("ascii")).digest())


class DPoPVerifier:
    def __init__(self, config: OAuthConfig, nonce_key: bytes, replay: ReplayCache) -> None:
        self._config = config
        self._key = nonce_key
        self._replay = replay

    def nonce(self, now: datetime) -> str:
        return self._nonce_for(int(now.timestamp()) // NONCE_WINDOW)

    def _nonce_ok(self, value: Any, now: datetime) -> bool:
        if not isinstance(value, str):
            return False
        current = int(now.timestamp()) // NONCE_WINDOW
        return any(hmac.compare_digest(value, self._nonce_for(w)) for w in (current, current - 1))

    def _nonce_for(self, window: int) -> str:
        return _b64(window.to_bytes(8, "big") + hmac.new(self._key, str(window).encode(), "sha256").digest()[:16])

    def verify(
        self,
        session: Session,
        headers: list[str],
        *,
        method: str,
        url: str,
        now: datetime,
        access_token: str | None = None,
    ) -> DPoPProof:
        if len(headers) != 1:
            raise DPoPError("exactly one DPoP header is required")
        proof = headers[0]
        if len(proof) > 8192:
            raise DPoPError("DPoP proof too large")
        try:
            compact = jws.extract_compact(proof.encode("ascii"), registry=REGISTRY)
        except (JoseError, ValueError, UnicodeEncodeError):
            raise DPoPError("DPoP proof is not a JWS") from None
        header = compact.protected
        if header.get("typ") != "dpop+jwt":
            raise DPoPError("typ must be dpop+jwt")
        alg = header.get("alg")
        if alg not in ALGS:
            raise DPoPError("alg must be an asymmetric algorithm")
        jwk = header.get("jwk")
        if not isinstance(jwk, dict) or any(p in jwk for p in ("d", "p", "q", "dp", "dq", "qi", "k")):
            raise DPoPError("jwk header must hold a public key")
        try:
            key = _import_public(jwk)
            verified = jws.deserialize_compact(proof, key, algorithms=[alg], registry=REGISTRY)
            claims = _json(verified.payload)
        except (JoseError, ValueError, KeyError, TypeError):
            raise DPoPError("DPoP proof signature does not verify") from None
        for name in ("jti", "htm", "htu", "iat"):
            if name not in claims:
                raise DPoPError(f"missing {name} claim")
        if claims["htm"] != method:
            raise DPoPError("htm does not match the request method")
        if not isinstance(claims["htu"], str) or normalise_htu(claims["htu"]) != normalise_htu(url):
            raise DPoPError("htu does not match the request URI")
        iat = claims["iat"]
        if not isinstance(iat, int) or abs(now.timestamp() - iat) > self._config.dpop_proof_max_age.total_seconds():
            raise DPoPError("iat is outside the acceptable window")
        if self._config.dpop_nonce_required and not self._nonce_ok(claims.get("nonce"), now):
            raise DPoPError("a DPoP nonce is required", error="use_dpop_nonce", nonce=self.nonce(now))
        if "nonce" in claims and not self._nonce_ok(claims["nonce"], now):
            raise DPoPError("stale or unknown DPoP nonce", error="use_dpop_nonce", nonce=self.nonce(now))
        if access_token is not None and claims.get("ath") != access_token_hash(access_token):
            raise DPoPError("ath does not match the access token")
        if not isinstance(claims["jti"], str) or not 8 <= len(claims["jti"]) <= 200:
            raise DPoPError("jti must be a unique string")
        jkt = key.thumbprint()
        expires = now + self._config.dpop_proof_max_age + timedelta(seconds=self._config.clock_skew.total_seconds())
        if not self._replay.first_use(session, f"dpop:{jkt}:{claims['jti']}", expires_at=expires, now=now):
            raise DPoPError("DPoP proof was already used")
        return DPoPProof(jkt=jkt, claims=claims)


def _import_public(jwk: dict[str, Any]) -> ECKey | RSAKey | OKPKey:
    kty = jwk.get("kty")
    if kty == "EC":
        return ECKey.import_key(jwk)
    if kty == "RSA":
        return RSAKey.import_key(jwk)
    if kty == "OKP":
        return OKPKey.import_key(jwk)
    raise ValueError("unsupported key type")


def _json(payload: bytes) -> dict[str, Any]:
    value = json.loads(payload)
    if not isinstance(value, dict):
        raise ValueError("payload is not an object")
    return value


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    return _import_public(jwk).thumbprint()
