"""JWT access tokens (RFC 9068), refresh tokens with rotation, and revocation.

Access tokens are self-contained JWTs (``typ: at+jwt``) carrying the grant id, so nothing is
written per token; revocation records the ``jti`` (or revokes the grant) and every check
consults those records, so a revoked token stops working at once everywhere.

Every access token says what it is for (issue 12, "every token says what it is for"): ``aud``
lists the resource servers it may be spent at (RFC 9068 §2.2, RFC 8707 resource indicators) and
``genba_kind`` who it speaks for (:class:`TokenKind`). A resource server cannot check a token
without naming itself and the kinds it serves (:meth:`TokenService.check_access_token`), so an
endpoint added later cannot accept a token minted for another (RFC 9068 §4: the resource server
MUST validate that ``aud`` contains a resource indicator it expects).
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import update
from sqlmodel import Session, col, select

from common import jws
from common.lru import LRU
from idp.models import OAuthGrant, RefreshToken, RevokedToken
from idp.oauth.config import OAuthConfig
from idp.oauth.hot_cache import HotCaches
from idp.oauth.keys import SUPPORTED_ALGS, KeyStore
from idp.runtime import Clock, Randomness, token_urlsafe

AT_TYP = "at+jwt"
KIND_CLAIM = "genba_kind"
MAX_TOKEN_LENGTH = 8192
#: access tokens whose signature this process has verified (issue 14), least recently used first out
VERIFIED_CACHE_SIZE = 4096


class TokenKind(enum.StrEnum):
    """Who an access token speaks for."""

    #: client_credentials: the client itself, acting for the company (or orderer) that owns it
    client = "client"
    #: authorization code / refresh: a signed-in person delegated access to the client
    user = "user"
    #: OpenID4VCI pre-authorized code: the holder of a credential offer, nobody else (§3.5)
    wallet = "wallet"


class Resource(enum.StrEnum):
    """The resource servers of Genba ID, by the path that identifies them (RFC 8707 §2: an absolute
    URI; :meth:`TokenService.resource_uri` joins it to the issuer)."""

    userinfo = "/userinfo"
    data_api = "/api/v1"
    credential = "/wallet/credential"


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class AccessTokenClaims:
    claims: dict[str, Any]
    #: the token's grant as read while checking it (``None`` for client_credentials tokens); kept
    #: here so the caller does not read it again
    grant: OAuthGrant | None = field(default=None, compare=False, repr=False)

    @property
    def jti(self) -> str:
        return str(self.claims["jti"])

    @property
    def scope(self) -> str:
        return str(self.claims.get("scope", ""))

    @property
    def client_id(self) -> str:
        return str(self.claims["client_id"])

    @property
    def grant_id(self) -> str | None:
        gid = self.claims.get("gid")
        return str(gid) if gid else None

    @property
    def jkt(self) -> str | None:
        cnf = self.claims.get("cnf")
        return str(cnf["jkt"]) if isinstance(cnf, dict) and "jkt" in cnf else None

    @property
    def kind(self) -> str | None:
        value = self.claims.get(KIND_CLAIM)
        return value if isinstance(value, str) else None

    @property
    def audiences(self) -> tuple[str, ...]:
        aud = self.claims.get("aud")
        values = aud if isinstance(aud, list) else [aud]
        return tuple(v for v in values if isinstance(v, str))


class TokenService:
    def __init__(
        self,
        config: OAuthConfig,
        keys: KeyStore,
        clock: Clock,
        rng: Randomness,
        details_valid: Callable[[list[dict[str, Any]]], bool] | None = None,
        caches: HotCaches | None = None,
    ) -> None:
        self.config = config
        self.keys = keys
        self.clock = clock
        self.rng = rng
        #: grants and revoked ``jti``s as the worker caches them; without a bus, every check reads the database
        self.caches = caches or HotCaches()
        #: RFC 9396: a token relying on authorization details stops working once they are withdrawn
        self.details_valid = details_valid
        #: token -> (kid, claims) of access tokens whose signature and header verified; only the
        #: signature check is skipped on a hit (see :meth:`_verified_claims`)
        self.verified: LRU[str, tuple[str, dict[str, Any]]] = LRU(VERIFIED_CACHE_SIZE)

    def resource_uri(self, resource: Resource) -> str:
        return self.config.url(resource.value)

    def mint_access_token(
        self,
        *,
        client_id: str,
        subject: str,
        scope: str,
        grant: OAuthGrant | None,
        jkt: str | None,
        kind: TokenKind,
        audience: Collection[Resource],
        extra: dict[str, Any] | None = None,
        at_most: timedelta | None = None,
    ) -> tuple[str, int]:
        """RFC 9068 §2: iss, exp, aud, sub, client_id, iat, jti, plus auth_time/acr for user grants;
        ``aud`` names the resource servers the token may be spent at and ``genba_kind`` who it
        speaks for; ``at_most`` shortens the configured lifetime (never lengthens it)."""
        if not audience:
            raise ValueError("an access token needs at least one audience")
        now = self.clock()
        configured = self.config.access_token_lifetime
        lifetime = int((min(configured, at_most) if at_most else configured).total_seconds())
        claims: dict[str, Any] = {
            "iss": self.config.issuer,
            "sub": subject,
            "aud": [self.resource_uri(r) for r in Resource if r in audience],
            KIND_CLAIM: kind.value,
            "client_id": client_id,
            "iat": int(now.timestamp()),
            "exp": int(now.timestamp()) + lifetime,
            "jti": token_urlsafe(self.rng, 16),
            "scope": scope,
        }
        if grant is not None:
            claims.update(gid=grant.grant_id, auth_time=int(grant.auth_time.timestamp()))
            if grant.authorization_details:
                claims["authorization_details"] = list(grant.authorization_details)  # RFC 9396 §9.1
            if grant.acr:
                claims["acr"] = grant.acr
            if grant.sid:
                claims["sid"] = grant.sid
        if jkt:
            claims["cnf"] = {"jkt": jkt}  # RFC 9449 §6.1
        claims.update({k: v for k, v in (extra or {}).items() if k not in claims})  # never replaces ours
        token = self.keys.signing_key(self.config.signing_alg).sign_jwt({"typ": AT_TYP}, claims)
        return token, lifetime

    def check_access_token(
        self, session: Session, token: str, *, resource: Resource, kinds: Collection[TokenKind]
    ) -> AccessTokenClaims | None:
        """What a resource server calls: :meth:`decode_access_token`, and then the token must name
        ``resource`` in its ``aud`` (RFC 9068 §4, RFC 8707 §2) and be of one of ``kinds``."""
        claims = self.decode_access_token(session, token)
        if claims is None or self.resource_uri(resource) not in claims.audiences:
            return None
        if claims.kind not in {k.value for k in kinds}:
            return None
        return claims

    def decode_access_token(self, session: Session, token: str) -> AccessTokenClaims | None:
        """Verify one of our access tokens: signature by a published key, ``typ``, issuer, expiry,
        not revoked, grant not revoked. ``None`` for anything else (alg=none, HS256, ID tokens...).
        This does not say where the token may be spent: only the authorization server's own
        endpoints (introspection, revocation) call it directly; resource servers call
        :meth:`check_access_token`."""
        claims = self._verified_claims(token)
        if claims is None:
            return None
        now = self.clock().timestamp()
        exp = claims.get("exp")
        if claims.get("iss") != self.config.issuer or not isinstance(exp, int) or exp <= now or "jti" not in claims:
            return None
        jti = str(claims["jti"])
        gid = claims.get("gid")
        grant: OAuthGrant | None = None
        if gid:  # both checks from the worker's caches, or in one round trip (idp/oauth/hot_cache.py)
            grant = self.caches.usable_grant(session, grant_id=str(gid), jti=jti)
            if grant is None:
                return None
        elif self.caches.jti_revoked(session, jti):
            return None
        entries = claims.get("authorization_details")
        if entries and self.details_valid is not None and not self.details_valid(list(entries)):
            return None
        return AccessTokenClaims(claims, grant)

    def _verified_claims(self, token: str) -> dict[str, Any] | None:
        """The claims of ``token`` if it is a JWS with ``typ`` at+jwt (RFC 9068 §4 steps 1-4) signed by
        the published key its ``kid`` names, with that key's algorithm; ``None`` otherwise.

        ES256 and EdDSA are verified by :mod:`common.jws`, RS256 and PS256 by joserfc. A token
        verified before skips the signature check only (:attr:`verified`): its key must still be
        published on every use, and the caller checks issuer, expiry and revocation every time."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        hit = self.verified.get(token)
        if hit is not None:
            kid, cached = hit
            return dict(cached) if self.keys.is_published(kid) else None
        try:
            compact = jws.parse(token, algs=SUPPORTED_ALGS, typ=AT_TYP, max_length=MAX_TOKEN_LENGTH)
            key = self.keys.verification_key(compact.kid) if compact.kid else None
            if key is None or key.alg != compact.alg:
                return None
            if key.raw is not None:
                jws.verify(compact, key.raw)
                claims = json.loads(compact.payload)
            else:
                claims = jwt.decode(token, key.key, algorithms=[key.alg]).claims
        except (JoseError, ValueError, KeyError, TypeError):
            return None
        if not isinstance(claims, dict):
            return None
        self.verified.put(token, (key.kid, claims))
        return dict(claims)

    def revoke_access_token(self, session: Session, claims: AccessTokenClaims) -> None:
        if session.get(RevokedToken, claims.jti) is None:
            exp = datetime.fromtimestamp(int(claims.claims["exp"]), tz=self.clock().tzinfo)
            session.add(RevokedToken(jti=claims.jti, expires_at=exp))

    def issue_refresh_token(self, session: Session, *, grant: OAuthGrant, scope: str) -> str:
        value = token_urlsafe(self.rng, 32)
        now = self.clock()
        session.add(
            RefreshToken(
                token_hash=token_hash(value),
                grant_id=grant.grant_id,
                client_id=grant.client_id,
                scope=scope,
                created_at=now,
                expires_at=now + self.config.refresh_token_lifetime,
            )
        )
        return value

    def retire_refresh_tokens(self, session: Session, *, grant_id: str, now: datetime) -> None:
        """Mark every not yet rotated refresh token of the grant rotated at ``now``: each stays usable
        for the grace period only, and its use after that revokes the grant (RFC 9700 §4.14.2)."""
        session.execute(
            update(RefreshToken)
            .where(col(RefreshToken.grant_id) == grant_id)
            .where(col(RefreshToken.rotated_at).is_(None))
            .values(rotated_at=now)
            .execution_options(synchronize_session=False)
        )

    def find_refresh_token(self, session: Session, value: str) -> RefreshToken | None:
        if not value or len(value) > 200:
            return None
        return session.get(RefreshToken, token_hash(value))


def revoke_grant(session: Session, grant_id: str, *, now: datetime) -> None:
    """Revoke a grant: its refresh tokens and every access token carrying its ``gid`` stop working."""
    session.execute(
        update(OAuthGrant)
        .where(col(OAuthGrant.grant_id) == grant_id)
        .where(col(OAuthGrant.revoked_at).is_(None))
        .values(revoked_at=now)
    )


def active_grants_for_session(session: Session, *, account_id: int, sid: str | None) -> list[OAuthGrant]:
    stmt = (
        select(OAuthGrant).where(col(OAuthGrant.account_id) == account_id).where(col(OAuthGrant.revoked_at).is_(None))
    )
    if sid:
        stmt = stmt.where(col(OAuthGrant.sid) == sid)
    return list(session.exec(stmt).all())


def seconds_until(when: datetime, now: datetime) -> int:
    return max(0, int((when - now).total_seconds()))


__all__ = ["AccessTokenClaims", "Resource", "TokenKind", "TokenService", "revoke_grant", "seconds_until"]
