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
from idp.oauth.server import PENDING
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
    def __init__(self, services: OAuthServices) -> None:
        self.svc = services
        #: set by the application (CCUS claims under the consent engine); ``None`` adds nothing
        self.id_token_extra: IdTokenClaims | None = None

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        """authlib's ``save_token``: replace the pending values with real tokens."""
        db = current_db()
        client: RegisteredClient = request.client
        jkt = request.dpop.jkt if request.dpop else None
        grant_type = request.payload.grant_type
        if client.row.require_dpop and not jkt:
            raise InvalidDPoPProofError("this client must use DPoP-bound tokens")
        grant: OAuthGrant | None = None
        if grant_type == "authorization_code":
            grant = request.authorization_code.grant
        elif grant_type == "refresh_token":
            grant = request.refresh_token.grant
        if grant is not None:
            if grant.dpop_jkt and grant.dpop_jkt != jkt:
                raise InvalidDPoPProofError("the DPoP key differs from the one this grant is bound to")
            if grant.dpop_jkt is None and jkt and client.is_public:
                grant.dpop_jkt = jkt  # refresh tokens of public clients become sender-constrained
                db.add(grant)
            account: Account = request.user
            subject = subject_for(account, client, salt=self.svc.subject_salt)
            kind = TokenKind.user
        else:
            subject = client.client_id  # RFC 9068 §2.2: the client itself for client_credentials
            kind = TokenKind.client
        attested = getattr(request, "auth_method", None) == ATTEST
        if for_credentials(grant) and not (client.row.holder_wallet or attested):
            # a grant of credentials was made for an attested wallet (PAR with a client attestation):
            # its tokens go to that wallet only, proven again here (issue 12; HAIP 1.0 §4.3)
            raise InvalidClientError(description="credentials need the wallet's client attestation")
        scope = token.get("scope") or (grant.scope if grant else "")
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
        token.update(
            access_token=access_token, expires_in=lifetime, token_type="DPoP" if jkt else "Bearer", scope=scope
        )
        if grant is not None and grant.authorization_details:
            token["authorization_details"] = list(grant.authorization_details)  # RFC 9396 §7
        if token.get("refresh_token") == PENDING:
            self._refresh_token(db, token, grant, grant_type, scope)
        request.genba_subject = subject
        request.genba_grant = grant

    def _refresh_token(
        self, db: Session, token: dict[str, Any], grant: OAuthGrant | None, grant_type: str, scope: str
    ) -> None:
        """The refresh token in place of authlib's pending one: none without a grant (client_credentials)."""
        if grant is None:
            del token["refresh_token"]
        else:
            if grant_type == "refresh_token":
                # one live refresh token per grant: a rotated token replayed inside the grace
                # period (two tabs) retires the successor the first use issued, instead of
                # starting a second live family beside it (RFC 9700 §4.14.2; issue 12 item 8)
                self.svc.tokens.retire_refresh_tokens(db, grant_id=grant.grant_id, now=self.svc.clock())
            token["refresh_token"] = self.svc.tokens.issue_refresh_token(db, grant=grant, scope=scope)

    def id_token(self, *, token: dict[str, Any], request: Any, nonce: str | None) -> str:
        """OIDC Core §2 and §12.2: same ``sub`` and ``auth_time`` on refresh; ``nonce`` only from the code."""
        grant: OAuthGrant = request.genba_grant
        client: RegisteredClient = request.client
        now = self.svc.clock()
        key = self.svc.keys.signing_key(client.row.id_token_signed_response_alg or self.svc.config.signing_alg)
        claims: dict[str, Any] = {
            "iss": self.svc.config.issuer,
            "sub": request.genba_subject,
            "aud": client.client_id,
            "iat": int(now.timestamp()),
            "exp": int((now + self.svc.config.id_token_lifetime).timestamp()),
            "auth_time": int(grant.auth_time.timestamp()),
            "at_hash": half_hash(token["access_token"], key.alg),
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
        if self.id_token_extra is not None:
            contributed = self.id_token_extra(current_db(), client.client_id, grant)
            claims.update({k: v for k, v in contributed.items() if k not in claims})  # never replaces ours
        return key.sign_jwt({"typ": "JWT"}, claims)


class IdTokenExtension:
    """Adds ``id_token`` to token responses whose scope contains ``openid``."""

    def __init__(self, issuer: Issuer) -> None:
        self._issuer = issuer

    def __call__(self, grant: Any) -> None:
        grant.register_hook("after_create_token_response", self.process_token)

    def process_token(self, grant: Any, response: Any) -> None:
        _, token, _ = response
        if "openid" not in str(token.get("scope", "")).split():
            return
        request = grant.request
        code = getattr(request, "authorization_code", None)
        nonce = code.get_nonce() if code is not None and request.payload.grant_type == "authorization_code" else None
        token["id_token"] = self._issuer.id_token(token=token, request=request, nonce=nonce)
