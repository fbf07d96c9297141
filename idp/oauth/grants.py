"""authlib grants with Genba ID's storage and rules.

- authorization_code: single use, at most 60 s; a second use fails and revokes the grant the
  first use created (RFC 6749 §4.1.2, RFC 9700 §4.5); PKCE is S256 only and required for public
  clients (RFC 7636, RFC 9700 §2.1.1).
- refresh_token: rotated on every use; a rotated token presented after a short grace period
  (concurrent tabs) revokes the whole grant (RFC 9700 §4.14.2).
- client_credentials: for confidential clients only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import update
from sqlmodel import Session, col

from idp.models import Account, AuthorizationCode, OAuthGrant, RefreshToken
from idp.oauth.authz_request import pkce_problem
from idp.oauth.clients import AUTH_METHODS, JWT_ALGS, RegisteredClient
from idp.oauth.config import current_db
from idp.oauth.errors import InvalidClientError, InvalidRequestError, safe_description
from idp.oauth.server import GenbaAuthorizationServer, GenbaRequest, TokenResponse
from idp.oauth.services import OAuthServices
from idp.oauth.tokens import revoke_grant, token_hash


def services_of(grant: Any) -> OAuthServices:
    server: GenbaAuthorizationServer = grant.server
    return server.services


class MintsTokens:
    """Mixin for our authlib grants: the real tokens are minted where authlib asks for them
    (``BaseGrant.generate_token``), by ``issuance.Issuer.mint``, which reads from the request what a
    token needs beyond authlib's arguments: the grant (code or refresh token), the DPoP proof
    (RFC 9449 §5) and how the client authenticated."""

    request: GenbaRequest
    server: GenbaAuthorizationServer

    def generate_token(
        self,
        user: Account | None = None,
        scope: str | None = None,
        grant_type: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> TokenResponse:
        return self.server.minter.mint(
            self.request, user=user, scope=scope, include_refresh_token=include_refresh_token
        )


@dataclass
class IssuedCode:
    """authlib ``AuthorizationCodeMixin`` over a consumed code and its grant."""

    row: AuthorizationCode
    grant: OAuthGrant

    def get_redirect_uri(self) -> str | None:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.grant.scope

    def get_nonce(self) -> str | None:
        return self.row.nonce

    def get_auth_time(self) -> int:
        return int(self.grant.auth_time.timestamp())

    def get_acr(self) -> str | None:
        return self.grant.acr

    def get_amr(self) -> list[str]:
        return list(self.grant.amr)

    @property
    def code_challenge(self) -> str | None:
        return self.row.code_challenge

    @property
    def code_challenge_method(self) -> str | None:
        return self.row.code_challenge_method


class S256Challenge(CodeChallenge):  # type: ignore[misc]
    """PKCE (RFC 7636) with S256 only; ``plain`` is refused (RFC 9700 §2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        """The rule ``authz_request`` applied already (``pkce_problem``), so this finds nothing new
        at ``/authorize``; authlib calls it as part of its own request validation."""
        problem = pkce_problem(grant.request.payload.data, grant.request.client)
        if problem is not None:
            raise InvalidRequestError(problem)
        if grant.request.payload.data.get("code_challenge"):
            super().validate_code_challenge(grant, redirect_uri)


class CodeGrant(MintsTokens, grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)  # noqa: RUF012

    def save_authorization_code(self, code: str, request: GenbaRequest) -> None:
        svc = services_of(self)
        grant = request.new_grant
        assert grant is not None, "the authorization endpoint sets the grant before issuing a code"
        now = svc.clock()
        db = current_db()
        db.add(grant)
        db.add(
            AuthorizationCode(
                code_hash=token_hash(code),
                grant_id=grant.grant_id,
                client_id=request.client.client_id,
                redirect_uri=request.payload.redirect_uri,
                nonce=request.payload.data.get("nonce"),
                code_challenge=request.payload.data.get("code_challenge"),
                code_challenge_method=request.payload.data.get("code_challenge_method"),
                created_at=now,
                expires_at=now + svc.config.code_lifetime,
            )
        )

    def query_authorization_code(self, code: str, client: RegisteredClient) -> IssuedCode | None:
        """Consume the code in its own committed transaction, so single use holds across workers;
        a replayed code revokes what the first use issued."""
        svc = services_of(self)
        now = svc.clock()
        if not isinstance(code, str) or len(code) > 200:
            return None
        with Session(svc.engine, expire_on_commit=False) as own:
            row = own.get(AuthorizationCode, token_hash(code))
            if row is None or row.client_id != client.client_id:
                return None
            claimed = own.execute(
                update(AuthorizationCode)
                .where(col(AuthorizationCode.code_hash) == row.code_hash)
                .where(col(AuthorizationCode.used_at).is_(None))
                .values(used_at=now)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                revoke_grant(own, row.grant_id, now=now)
                own.commit()
                return None
            own.commit()
        if row.expires_at <= now:
            return None
        grant = current_db().get(OAuthGrant, row.grant_id)
        if grant is None or grant.revoked_at is not None:
            return None
        return IssuedCode(row=row, grant=grant)

    def delete_authorization_code(self, authorization_code: IssuedCode) -> None:
        """Already consumed in ``query_authorization_code``."""

    def authenticate_user(self, authorization_code: IssuedCode) -> Account | None:
        account = current_db().get(Account, authorization_code.grant.account_id)
        return account if account is not None and not account.disabled else None


@dataclass
class PresentedRefreshToken:
    """authlib ``TokenMixin`` over a refresh token row and its grant."""

    row: RefreshToken
    grant: OAuthGrant

    def check_client(self, client: RegisteredClient) -> bool:
        return self.row.client_id == client.client_id

    def get_scope(self) -> str:
        return self.row.scope


class RefreshGrant(MintsTokens, grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)  # noqa: RUF012
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> PresentedRefreshToken | None:
        svc = services_of(self)
        db = current_db()
        now = svc.clock()
        row = svc.tokens.find_refresh_token(db, refresh_token)
        if row is None or row.expires_at <= now:
            return None
        grant = db.get(OAuthGrant, row.grant_id)
        if grant is None or grant.revoked_at is not None:
            return None
        if row.rotated_at is not None and now - row.rotated_at > svc.config.refresh_grace:
            # Reuse of a rotated token: someone holds a copy. Revoke the whole family.
            with Session(svc.engine) as own:
                revoke_grant(own, grant.grant_id, now=now)
                own.commit()
            return None
        valid = svc.tokens.details_valid  # after the reuse check: a replayed token still revokes the family
        if grant.authorization_details and valid is not None and not valid(list(grant.authorization_details)):
            # RFC 9396 §7 / issue 4 rule 5: a consent the grant relied on was revoked or has expired, so
            # its tokens are refused (introspection, data API) and it yields no new ones: invalid_grant
            return None
        return PresentedRefreshToken(row=row, grant=grant)

    def authenticate_user(self, refresh_token: PresentedRefreshToken) -> Account | None:
        account = current_db().get(Account, refresh_token.grant.account_id)
        return account if account is not None and not account.disabled else None

    def revoke_old_credential(self, refresh_token: PresentedRefreshToken) -> None:
        if refresh_token.row.rotated_at is None:
            refresh_token.row.rotated_at = services_of(self).clock()
            current_db().add(refresh_token.row)


class ClientCredentials(MintsTokens, grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]  # noqa: RUF012

    def validate_token_request(self) -> None:
        super().validate_token_request()
        client: RegisteredClient = self.request.client
        requested = self.request.payload.scope
        if requested and client.get_allowed_scope(requested) != " ".join(requested.split()):
            from idp.oauth.errors import InvalidScopeError

            raise InvalidScopeError()


class PrivateKeyJwt(JWTBearerClientAssertion):  # type: ignore[misc]
    """``private_key_jwt`` client authentication (OIDC Core §9, RFC 7523 §2.2) with ``jti`` replay protection."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, services: OAuthServices, audiences: list[str]) -> None:
        super().__init__(validate_jti=True, leeway=int(services.config.clock_skew.total_seconds()))
        self._services = services
        self._audiences = audiences

    def get_audiences(self) -> list[str]:
        return self._audiences

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        svc = self._services
        now = svc.clock()
        exp = claims.get("exp")
        expires = (
            now + svc.config.clock_skew
            if not isinstance(exp, int)
            else max(now, now.fromtimestamp(exp, tz=now.tzinfo)) + svc.config.clock_skew
        )
        return svc.replay.first_use(current_db(), f"pkjwt:{claims.get('iss')}:{jti}", expires_at=expires, now=now)

    def resolve_client_public_key(self, client: RegisteredClient) -> KeySet:
        return KeySet.import_key_set(client.jwks() or {"keys": []})  # type: ignore[arg-type]

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> Any:
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=list(JWT_ALGS))
        except (JoseError, ValueError):
            raise InvalidClientError(description="client assertion does not verify") from None
        try:
            self.verify_claims(token.claims)
        except InvalidClientError as exc:
            raise InvalidClientError(description=safe_description(exc.description or "invalid assertion")) from None
        except ValueError:  # authlib refused a description echoing the claim name in quotes
            raise InvalidClientError(description="client assertion claims are not valid") from None
        return token.claims
