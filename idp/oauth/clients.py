"""Registered clients: authlib's ``ClientMixin`` over the ``oauthclient`` row, and client registration.

Client secrets are high-entropy, so they are stored as SHA-256 and compared in constant time
(a slow password hash would only cap token throughput, cf. Hydra's 513/s bound by bcrypt).
Redirect URIs match exactly, except that a loopback IP redirect may use any port (RFC 8252 §7.3).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from common.messages import message
from common.outbound import OutboundPolicy, check_url
from idp.models import Account, OAuthClient
from idp.oauth.config import OFFERED_SCOPES
from idp.oauth.hot_cache import HotCaches
from idp.oauth.redirect_uris import LOOPBACK_HOSTS, check_redirect_uri_registration, redirect_uri_matches
from idp.runtime import Randomness, token_urlsafe
from idp.validation import FieldProblem, clean_text

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
#: ``attest_jwt_client_auth`` first, so a public client that presents a client attestation is authenticated
#: by it rather than as ``none`` (draft-ietf-oauth-attestation-based-client-auth §13.2)
ATTEST = "attest_jwt_client_auth"
AUTH_METHODS = (ATTEST, "client_secret_basic", "client_secret_post", "private_key_jwt", "none")
#: methods by which a client authenticates without credentials registered here: public clients
PUBLIC_METHODS = ("none", ATTEST)
JWT_ALGS = ("ES256", "RS256", "PS256", "EdDSA")


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass
class RegisteredClient:
    """authlib ``ClientMixin`` implementation (authlib/oauth2/rfc6749/models.py)."""

    row: OAuthClient
    #: the wallet provider whose client attestation this request carried (``idp.oauth.attestation``),
    #: carried from /par to /authorize; ``None`` for an unattested request
    attested_by: str | None = None

    def __repr__(self) -> str:  # authlib logs clients; never print the secret hash or metadata
        return f"<client {self.row.client_id}>"

    @property
    def client_id(self) -> str:
        return self.row.client_id

    @property
    def acts_as_wallet(self) -> bool:
        """A holder's wallet for this request: registered as one by the operator, or attested by a
        wallet provider the operator trusts (issue 12, mechanism "Credentials go only into a
        holder's wallet"; HAIP 1.0 §4.3)."""
        return self.row.holder_wallet or self.attested_by is not None

    @property
    def is_public(self) -> bool:
        return self.row.client_type == "public"

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None  # OIDC Core §3.1.2.1: redirect_uri is always required

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = set(self.row.scope.split())
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri_matches(redirect_uri, self.row.redirect_uris)

    def check_client_secret(self, client_secret: str) -> bool:
        if not self.row.client_secret_hash or not isinstance(client_secret, str):
            return False
        return hmac.compare_digest(sha256_hex(client_secret), self.row.client_secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """One registered method for every endpoint (token, revocation, introspection, PAR). Client
        attestation (draft-ietf-oauth-attestation-based-client-auth) only for a client registered with
        ``attest_jwt_client_auth``, which then always attests: deny by default, so an ordinary public
        client cannot become a holder's wallet with an attestation a trusted provider made for its
        client_id (issue 12 hole 3); never at introspection, which public clients may not use
        (RFC 7662 §2.1)."""
        registered = self.row.token_endpoint_auth_method
        if method == ATTEST:
            return registered == ATTEST and endpoint != "introspection"
        return method == registered

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.row.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.row.grant_types

    def jwks(self) -> dict[str, Any] | None:
        return self.row.jwks


@dataclass(frozen=True)
class NewClient:
    client: OAuthClient
    client_secret: str | None
    registration_access_token: str | None


# long: one keyword parameter per client metadata field (RFC 7591 §2) and one line per column of the
# stored client; the checks themselves are the _check_* functions below, in the order they apply
def create_client(
    *,
    session: Session,
    client_name: str,
    redirect_uris: list[str],
    client_type: str = "confidential",
    grant_types: list[str] | None = None,
    token_endpoint_auth_method: str | None = None,
    scope: str | None = None,
    jwks: dict[str, Any] | None = None,
    subject_type: str = "public",
    sector_identifier: str | None = None,
    require_par: bool = False,
    require_dpop: bool = False,
    post_logout_redirect_uris: list[str] | None = None,
    backchannel_logout_uri: str | None = None,
    backchannel_logout_session_required: bool = False,
    request_object_signing_alg: str | None = None,
    with_registration_token: bool = False,
    id_token_signed_response_alg: str | None = None,
    holder_wallet: bool = False,
    outbound: OutboundPolicy = OutboundPolicy(),
    update: OAuthClient | None = None,
    rng: Randomness,
    now: datetime,
) -> NewClient:
    """Validate client metadata (RFC 7591 §2) and store the client; the secret is returned once.

    With ``update``, the same rules apply and the existing client's metadata is replaced
    (RFC 7592 §2.2), keeping its id, secret and registration token.

    A URI the server will call itself (``backchannel_logout_uri``) must be one ``outbound`` allows
    (issue 12 hole 6): refused here already, not only when the call would be made.
    """
    grants, method = _check_authentication(client_type, grant_types, token_endpoint_auth_method, holder_wallet, jwks)
    uris = [check_redirect_uri_registration(u) for u in redirect_uris]
    if "authorization_code" in grants and not uris:
        raise FieldProblem("redirect_uris", message("field.redirect_uri_needed"))
    sector_identifier, per_client_sector = _check_subject(subject_type, sector_identifier, uris)
    requested = _check_algorithms_and_scopes(id_token_signed_response_alg, request_object_signing_alg, scope)
    _check_logout_uris(post_logout_redirect_uris, backchannel_logout_uri, outbound)
    needs_secret = client_type == "confidential" and method != "private_key_jwt"
    keep_secret = update is not None and update.client_secret_hash is not None and needs_secret
    secret = token_urlsafe(rng, 32) if needs_secret and not keep_secret else None
    registration_token = token_urlsafe(rng, 32) if with_registration_token and update is None else None
    client_id = update.client_id if update else token_urlsafe(rng, 18)
    client = OAuthClient(
        client_id=client_id,
        client_secret_hash=(update.client_secret_hash if keep_secret and update else None)
        or (sha256_hex(secret) if secret else None),
        client_type=client_type,
        client_name=clean_text(client_name, field="client_name", max_length=200),
        redirect_uris=uris,
        post_logout_redirect_uris=list(post_logout_redirect_uris or []),
        grant_types=grants,
        scope=" ".join(dict.fromkeys(requested)),
        token_endpoint_auth_method=method,
        jwks=jwks,
        subject_type=subject_type,
        sector_identifier=f"client:{client_id}" if per_client_sector else sector_identifier,
        require_par=require_par,
        require_dpop=require_dpop,
        backchannel_logout_uri=backchannel_logout_uri,
        backchannel_logout_session_required=backchannel_logout_session_required,
        request_object_signing_alg=request_object_signing_alg,
        id_token_signed_response_alg=id_token_signed_response_alg,
        holder_wallet=holder_wallet,
        registration_token_hash=(update.registration_token_hash if update else None)
        or (sha256_hex(registration_token) if registration_token else None),
        created_at=update.created_at if update else now,
    )
    if update is not None:
        # what only an operator sets survives a client's own update (RFC 7592 §2.2): its owner, its
        # wallet standing and whether it is disabled
        kept = {"owner_employer_pk", "owner_orderer_pk", "holder_wallet", "disabled"}
        for name, value in client.model_dump().items():
            if name not in kept:
                setattr(update, name, value)
        client = update
    session.add(client)
    session.flush()
    return NewClient(client=client, client_secret=secret, registration_access_token=registration_token)


def _check_authentication(
    client_type: str,
    grant_types: list[str] | None,
    token_endpoint_auth_method: str | None,
    holder_wallet: bool,
    jwks: dict[str, Any] | None,
) -> tuple[list[str], str]:
    """The client type, grant types and token endpoint authentication method (RFC 7591 §2): the
    grants and the method, defaults applied."""
    if client_type not in ("confidential", "public"):
        raise FieldProblem("client_type", message("field.client_type"))
    grants = list(dict.fromkeys(grant_types or ["authorization_code", "refresh_token"]))
    for grant in grants:
        if grant not in GRANT_TYPES:
            raise FieldProblem("grant_types", message("field.grant_type", grant=grant))
    method = token_endpoint_auth_method or ("none" if client_type == "public" else "client_secret_basic")
    if method not in AUTH_METHODS:
        raise FieldProblem("token_endpoint_auth_method", message("field.auth_method", method=method))
    if (client_type == "public") != (method in PUBLIC_METHODS):
        raise FieldProblem(
            "token_endpoint_auth_method",
            message("field.public_auth_method"),
        )
    if holder_wallet and "client_credentials" in grants:
        raise FieldProblem(
            "grant_types",
            message("field.wallet_client_credentials"),
        )
    if client_type == "public" and "client_credentials" in grants:
        raise FieldProblem(
            "grant_types",
            message("field.public_client_credentials"),
        )
    if method == "private_key_jwt" and not (jwks and isinstance(jwks.get("keys"), list) and jwks["keys"]):
        raise FieldProblem("jwks", message("field.jwks_needed"))
    return grants, method


def _check_subject(subject_type: str, sector_identifier: str | None, uris: list[str]) -> tuple[str | None, bool]:
    """The subject type and, for pairwise subjects, the sector (OIDC Core §8.1): the sector
    identifier and whether the client is its own sector."""
    if subject_type not in ("public", "pairwise"):
        raise FieldProblem("subject_type", message("field.subject_type"))
    per_client_sector = False
    if subject_type == "pairwise" and not sector_identifier:
        hosts = {urlsplit(u).hostname for u in uris}
        # OIDC Core §8.1: a native app's loopback redirect host is shared by every native app, so it
        # cannot be the sector: such a client is its own sector (issue 12 item 8)
        per_client_sector = bool(hosts) and all(h in LOOPBACK_HOSTS for h in hosts)
        if len(hosts) != 1 and not per_client_sector:
            raise FieldProblem(
                "sector_identifier",
                message("field.sector_needed"),
            )
        sector_identifier = None if per_client_sector else hosts.pop()
    return sector_identifier, per_client_sector


def _check_algorithms_and_scopes(
    id_token_signed_response_alg: str | None, request_object_signing_alg: str | None, scope: str | None
) -> list[str]:
    """The signing algorithms asked for and the scopes (all offered ones by default): the scopes."""
    if id_token_signed_response_alg is not None and id_token_signed_response_alg not in JWT_ALGS:
        raise FieldProblem(
            "id_token_signed_response_alg",
            message("field.id_token_alg", algs=", ".join(JWT_ALGS)),
        )
    if request_object_signing_alg not in (None, "none", *JWT_ALGS):
        raise FieldProblem("request_object_signing_alg", message("field.unsupported_alg"))
    requested = (scope or " ".join(OFFERED_SCOPES)).split()
    for s in requested:
        if s not in OFFERED_SCOPES:
            raise FieldProblem("scope", message("field.scope_not_offered", scope=s))
    return requested


def _check_logout_uris(
    post_logout_redirect_uris: list[str] | None, backchannel_logout_uri: str | None, outbound: OutboundPolicy
) -> None:
    """The logout URIs (OIDC RP-Initiated and Back-Channel Logout); the one the server calls must be
    one ``outbound`` allows (issue 12 hole 6)."""
    for uri in post_logout_redirect_uris or []:
        check_redirect_uri_registration(uri, field="logout_uri")
    if backchannel_logout_uri is not None:
        check_redirect_uri_registration(backchannel_logout_uri, field="backchannel_logout_uri")
        try:
            check_url(backchannel_logout_uri, outbound)
        except ValueError as refused:
            raise FieldProblem(
                "backchannel_logout_uri",
                message("field.internal_address", reason=refused),
            ) from None


def find_client(session: Session, client_id: str | None, caches: HotCaches | None = None) -> RegisteredClient | None:
    """The enabled client ``client_id``; with ``caches``, from the worker's cache when it may be
    believed (idp/oauth/hot_cache.py), else from ``session``."""
    if not client_id or not isinstance(client_id, str) or len(client_id) > 64:
        return None
    row = caches.client(session, client_id) if caches is not None else session.get(OAuthClient, client_id)
    return RegisteredClient(row) if row is not None and not row.disabled else None


def find_client_and_account(
    session: Session, client_id: str | None, account_id: int, caches: HotCaches | None = None
) -> tuple[RegisteredClient, Account] | None:
    """``find_client`` and the account, in one round trip or none (from ``caches``): ``None`` unless
    both exist and the client is enabled. Without ``caches`` both rows land in the session, where
    later ``get()`` calls find them; with them the rows are detached copies, never to be changed."""
    if not client_id or not isinstance(client_id, str) or len(client_id) > 64:
        return None
    if caches is not None:
        pair = caches.client_and_account(session, client_id, account_id)
    else:
        both = (
            select(OAuthClient, Account)
            .join_from(OAuthClient, Account, col(Account.id) == account_id)  # two look-ups by key, one row
            .where(col(OAuthClient.client_id) == client_id)
        )
        found = session.exec(both).first()
        pair = (found[0], found[1]) if found is not None else None
    if pair is None or pair[0].disabled:
        return None
    return RegisteredClient(pair[0]), pair[1]
