"""Minting what the token endpoint returns: access token, refresh token and ID token.

authlib decides *whether* a token is issued; this module decides *what* it contains:
the subject for this client (public or pairwise), the DPoP binding (RFC 9449 §5), the
grant id that makes revocation reach every token, and the ID token claims (OIDC Core §2).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from idp.models import Account, OAuthGrant
from idp.oauth.claims import account_claims, release, requested_claim_names, subject_for
from idp.oauth.clients import ATTEST, RegisteredClient
from idp.oauth.config import current_db
from idp.oauth.errors import InvalidClientError, InvalidDPoPProofError, InvalidTargetError
from idp.oauth.server import GenbaRequest, TokenResponse
from idp.oauth.services import OAuthServices
from idp.oauth.tokens import Resource, TokenKind


def half_hash(value: str, alg: str) -> str:
    """``at_hash``: left half of the hash of the token, the hash chosen by the signing alg (OIDC Core §3.1.3.6)."""
    digest = hashlib.sha512(value.encode()).digest() if alg == "EdDSA" else hashlib.sha256(value.encode()).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


#: extra ID token claims contributed by another part: (session, client_id, grant) → claims
IdTokenClaims = Callable[[Session, str, OAuthGrant], dict[str, Any]]


def for_credentials(grant: OAuthGrant | None) -> bool:
    """The grant carries ``openid_credential`` authorization details (OpenID4VCI 1.0 §5.1.1)."""
    return grant is not None and any(
        isinstance(e, dict) and e.get("type") == "openid_credential" for e in grant.authorization_details or []
    )


def audience_for(
    client: RegisteredClient, *, kind: TokenKind, scope: str, wallet_grant: bool = False
) -> frozenset[Resource]:
    """The resource servers a token may be spent at (RFC 9068 §2.2 ``aud``), from who it speaks for:

    - a client's own token (client_credentials) reads the data API only;
    - a person's token for a wallet app fetches credentials: a client registered as a holder
      wallet, or one that proved itself with a client attestation at this token request for a grant
      of credentials (``wallet_grant``; draft-ietf-oauth-attestation-based-client-auth, HAIP 1.0 §4.3);
    - a person's token for any other system reads the data API, under the consent engine;
    - userinfo only with the ``openid`` scope (OIDC Core §5.3).
    """
    if kind is TokenKind.client:
        return frozenset({Resource.data_api})
    wallet = client.row.holder_wallet or wallet_grant
    resources = {Resource.credential if wallet else Resource.data_api}
    if "openid" in scope.split():
        resources.add(Resource.userinfo)
    return frozenset(resources)


def narrowed(
    allowed: frozenset[Resource], asked: str | None, resource_uri: Callable[[Resource], str]
) -> frozenset[Resource]:
    """RFC 8707 §2.2: a ``resource`` parameter at the token endpoint narrows the token to that one
    resource server; one the grant does not reach is ``invalid_target``."""
    if asked is None:
        return allowed
    for resource in allowed:
        if resource_uri(resource) == asked:
            return frozenset({resource})
    raise InvalidTargetError(description="the resource is unknown or not allowed for this grant")


class Issuer:
    """Mints the token response (RFC 6749 §5.1) when one of our grants asks for it
    (``grants.MintsTokens``): access token, refresh token and, for ``openid``, the ID token."""

    def __init__(self, services: OAuthServices, id_token_claims: IdTokenClaims | None = None) -> None:
        self.svc = services
        #: CCUS claims under the consent engine, given by the application; ``None`` adds nothing
        self.id_token_claims = id_token_claims

    def mint(
        self, request: GenbaRequest, *, user: Account | None, scope: str | None, include_refresh_token: bool
    ) -> TokenResponse:
        """The tokens for this request: bound to its DPoP key, for the subject this client sees, under
        the grant the code or refresh token belongs to (none for client_credentials)."""
        db = current_db()
        client: RegisteredClient = request.client
        jkt = request.dpop.jkt if request.dpop else None
        grant_type = request.payload.grant_type
        grant, subject, kind = self._speaking_for(db, request, user, jkt)
        attested = request.auth_method == ATTEST
        if for_credentials(grant) and not (client.row.holder_wallet or attested):
            # a grant of credentials was made for an attested wallet (PAR with a client attestation):
            # its tokens go to that wallet only, proven again here (issue 12; HAIP 1.0 §4.3)
            raise InvalidClientError(description="credentials need the wallet's client attestation")
        scope = scope or (grant.scope if grant else "")
        audience = narrowed(
            audience_for(client, kind=kind, scope=scope, wallet_grant=attested and for_credentials(grant)),
            request.payload.data.get("resource"),
            self.svc.tokens.resource_uri,
        )
        access_token, lifetime = self.svc.tokens.mint_access_token(
            client_id=client.client_id,
            subject=subject,
            scope=scope,
            grant=grant,
            jkt=jkt,
            kind=kind,
            audience=audience,
        )
        token = TokenResponse(
            access_token=access_token, token_type="DPoP" if jkt else "Bearer", expires_in=lifetime, scope=scope
        )
        if grant is not None and grant.authorization_details:
            token["authorization_details"] = list(grant.authorization_details)  # RFC 9396 §7
        if grant is not None and include_refresh_token:
            if grant_type == "refresh_token":
                # one live refresh token per grant: a rotated token replayed inside the grace
                # period (two tabs) retires the successor the first use issued, instead of
                # starting a second live family beside it (RFC 9700 §4.14.2; issue 12 item 8)
                self.svc.tokens.retire_refresh_tokens(db, grant_id=grant.grant_id, now=self.svc.clock())
            token["refresh_token"] = self.svc.tokens.issue_refresh_token(db, grant=grant, scope=scope)
        if grant is not None and "openid" in scope.split():
            # OIDC Core §3.1.3.3 / §12.2: an ID token with every response to a grant of ``openid``
            code = request.authorization_code if grant_type == "authorization_code" else None
            token["id_token"] = self.id_token(
                access_token=access_token,
                client=client,
                grant=grant,
                subject=subject,
                nonce=code.get_nonce() if code is not None else None,
            )
        return token

    def _speaking_for(
        self, db: Session, request: GenbaRequest, user: Account | None, jkt: str | None
    ) -> tuple[OAuthGrant | None, str, TokenKind]:
        """The grant the tokens belong to, their subject and kind; the DPoP binding they must keep
        (RFC 9449 §5: a grant bound to a key yields tokens for that key only)."""
        client: RegisteredClient = request.client
        if client.row.require_dpop and not jkt:
            raise InvalidDPoPProofError("this client must use DPoP-bound tokens")
        grant: OAuthGrant | None = None
        if request.payload.grant_type == "authorization_code":
            grant = request.authorization_code.grant
        elif request.payload.grant_type == "refresh_token":
            grant = request.refresh_token.grant
        if grant is None:
            return None, client.client_id, TokenKind.client  # RFC 9068 §2.2: the client itself
        if grant.dpop_jkt and grant.dpop_jkt != jkt:
            raise InvalidDPoPProofError("the DPoP key differs from the one this grant is bound to")
        if grant.dpop_jkt is None and jkt and client.is_public:
            grant.dpop_jkt = jkt  # refresh tokens of public clients become sender-constrained
            db.add(grant)
        assert user is not None, "authlib authenticated the grant's user before asking for tokens"
        return grant, subject_for(user, client, salt=self.svc.subject_salt), TokenKind.user

    def id_token(
        self, *, access_token: str, client: RegisteredClient, grant: OAuthGrant, subject: str, nonce: str | None
    ) -> str:
        """OIDC Core §2 and §12.2: same ``sub`` and ``auth_time`` on refresh; ``nonce`` only from the code."""
        now = self.svc.clock()
        key = self.svc.keys.signing_key(client.row.id_token_signed_response_alg or self.svc.config.signing_alg)
        claims: dict[str, Any] = {
            "iss": self.svc.config.issuer,
            "sub": subject,
            "aud": client.client_id,
            "iat": int(now.timestamp()),
            "exp": int((now + self.svc.config.id_token_lifetime).timestamp()),
            "auth_time": int(grant.auth_time.timestamp()),
            "at_hash": half_hash(access_token, key.alg),
        }
        if nonce:
            claims["nonce"] = nonce
        if grant.acr:
            claims["acr"] = grant.acr
        if grant.amr:
            claims["amr"] = list(grant.amr)
        if grant.sid:
            claims["sid"] = grant.sid
        wanted = requested_claim_names(grant.claims, "id_token")
        if wanted:
            account = current_db().get(Account, grant.account_id)
            if account is not None:
                extra = release(account_claims(current_db(), account), scope=grant.scope, extra=set())
                claims.update({k: v for k, v in extra.items() if k in wanted})
        if self.id_token_claims is not None:
            contributed = self.id_token_claims(current_db(), client.client_id, grant)
            claims.update({k: v for k, v in contributed.items() if k not in claims})  # never replaces ours
        return key.sign_jwt({"typ": "JWT"}, claims)
