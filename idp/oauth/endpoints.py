"""Token revocation (RFC 7009) and introspection (RFC 7662) on authlib's endpoints.

Revoking a refresh token revokes its grant, and with it the grant's access tokens
(RFC 7009 §2.1 "SHOULD"); revoking an access token records its ``jti``. Introspection is
client-authenticated and answers ``{"active": false}`` for anything unknown, expired, revoked
or issued to another client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from idp.models import OAuthGrant, RefreshToken
from idp.oauth.clients import AUTH_METHODS, PUBLIC_METHODS, RegisteredClient
from idp.oauth.config import current_db
from idp.oauth.services import OAuthServices
from idp.oauth.tokens import AccessTokenClaims, revoke_grant


@dataclass
class KnownToken:
    """authlib ``TokenMixin`` for either kind of token."""

    kind: str
    client_id: str
    refresh: RefreshToken | None = None
    access: AccessTokenClaims | None = None
    grant: OAuthGrant | None = None
    expired: bool = False
    #: RFC 9396: a consent the grant relies on was revoked, refused or has expired
    withdrawn: bool = False

    def check_client(self, client: RegisteredClient) -> bool:
        return self.client_id == client.client_id

    def is_expired(self) -> bool:
        return self.expired

    def is_revoked(self) -> bool:
        return self.withdrawn or (self.grant is not None and self.grant.revoked_at is not None)

    def get_scope(self) -> str:
        if self.refresh is not None:
            return self.refresh.scope
        return self.access.scope if self.access else ""


def find_token(svc: OAuthServices, value: str, hint: str | None) -> KnownToken | None:
    """The hint only orders the search: RFC 7009 §2.1 and RFC 7662 §2.1 require extending it to
    every token type when the hinted one does not match."""
    if not isinstance(value, str) or not value:
        return None
    lookups = (_access, _refresh) if hint == "access_token" else (_refresh, _access)
    for lookup in lookups:
        found = lookup(svc, value)
        if found is not None:
            return found
    return None


def _refresh(svc: OAuthServices, value: str) -> KnownToken | None:
    db = current_db()
    row = svc.tokens.find_refresh_token(db, value)
    if row is None:
        return None
    grant = db.get(OAuthGrant, row.grant_id)
    now = svc.clock()
    expired = row.expires_at <= now or (row.rotated_at is not None and now - row.rotated_at > svc.config.refresh_grace)
    # the refresh grant refuses a token whose consent is gone (invalid_grant); introspection must not
    # call it active meanwhile (RFC 7662 §2.2: active means usable now; issue 12 item 8)
    valid = svc.tokens.details_valid
    withdrawn = bool(
        grant is not None
        and grant.authorization_details
        and valid is not None
        and not valid(list(grant.authorization_details))
    )
    return KnownToken("refresh_token", row.client_id, refresh=row, grant=grant, expired=expired, withdrawn=withdrawn)


def _access(svc: OAuthServices, value: str) -> KnownToken | None:
    claims = svc.tokens.decode_access_token(current_db(), value)
    return KnownToken("access_token", claims.client_id, access=claims) if claims is not None else None


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = list(AUTH_METHODS)  # noqa: RUF012

    def __init__(self, server: Any, services: OAuthServices) -> None:
        super().__init__(server)
        self.svc = services

    def query_token(self, token_string: str, token_type_hint: str | None) -> KnownToken | None:
        return find_token(self.svc, token_string, token_type_hint)

    def revoke_token(self, token: KnownToken, request: Any) -> None:
        db = current_db()
        if token.refresh is not None:
            revoke_grant(db, token.refresh.grant_id, now=self.svc.clock())
        elif token.access is not None:
            self.svc.tokens.revoke_access_token(db, token.access)


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    # RFC 7662 §2.1: the endpoint requires authorization; public clients (none, attestation) are refused.
    CLIENT_AUTH_METHODS = [m for m in AUTH_METHODS if m not in PUBLIC_METHODS]  # noqa: RUF012

    def __init__(self, server: Any, services: OAuthServices) -> None:
        super().__init__(server)
        self.svc = services

    def check_params(self, request: Any, client: Any) -> None:
        """RFC 7662 §2.1: ``token`` is required; ``token_type_hint`` is only a hint, and one this server
        does not know is ignored (the search extends to every type) rather than refused —
        ``unsupported_token_type`` is RFC 7009's, for revocation, not an introspection error."""
        if "token" not in request.form:
            raise InvalidRequestError()

    def query_token(self, token_string: str, token_type_hint: str | None) -> KnownToken | None:
        hint = token_type_hint if token_type_hint in self.SUPPORTED_TOKEN_TYPES else None
        return find_token(self.svc, token_string, hint)

    def check_permission(self, token: KnownToken, client: RegisteredClient, request: Any) -> bool:
        return token.client_id == client.client_id

    def introspect_token(self, token: KnownToken) -> dict[str, Any]:
        if token.access is not None:
            claims = token.access.claims
            body: dict[str, Any] = {
                k: claims[k]
                for k in (
                    "scope",
                    "client_id",
                    "sub",
                    "exp",
                    "iat",
                    "iss",
                    "aud",
                    "jti",
                    "auth_time",
                    "acr",
                    "cnf",
                    "authorization_details",
                )
                if k in claims
            }
            body["token_type"] = "DPoP" if token.access.jkt else "Bearer"
            return {"active": True, **body}
        assert token.refresh is not None
        return {
            "active": True,
            "scope": token.refresh.scope,
            "client_id": token.client_id,
            "exp": int(token.refresh.expires_at.timestamp()),
            "iss": self.svc.config.issuer,
            "token_type": "refresh_token",
        }
