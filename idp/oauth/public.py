"""The OpenID provider's public face: what the rest of Genba ID may use of ``idp.oauth`` (issue 13
item 3, "idp has a public face"). ``app`` builds and wires the provider with it, the register's data
API and the wallet's issuance port (wired in ``app``) check and mint tokens with it; every other
``idp.oauth`` module is internal (import-linter contract "app and register reach idp only through
its public face", pyproject.toml). A module of its own rather than ``idp/oauth/__init__.py``, and lazy, for the
reasons :mod:`idp.public` gives: the package's ``__init__`` runs before every ``idp.oauth.x`` import,
and the CLI's key and client commands need neither authlib's server nor the grants.

What each name is for:

Building the provider, once per application (``create_app(settings)``, no import-time singletons;
docs/architecture.md "Ports and the wiring in app"): :class:`OAuthConfig` (issuer from settings, never
from the Host header), :func:`build_services` (keys, tokens, DPoP: the :class:`OAuthServices` the
wallet's token port also uses) then :func:`build_oauth` with the :class:`ProviderExtensions` other parts
contribute (technician claims, the pre-authorized code grant, metadata), returning the
:class:`OAuthRuntime` that routes reach through :data:`OAuthDep`; the replay stores for DPoP
proofs, client assertions and attestations (RFC 9449 §11.1, RFC 7523 §3 item 7)
:class:`DatabaseReplayCache` and :class:`RedisReplayCache`; :class:`WalletProviders` and
:func:`load_wallet_providers`, the operator's trust list for client attestations (HAIP 1.0 §4.3);
:func:`deliver_now`, the retry of back-channel logout requests (OIDC Back-Channel Logout 1.0 §2.5);
:data:`FRONT_ROUTES`, token, introspection, userinfo, JWKS and discovery as plain Starlette routes that
``app/front.py`` dispatches ahead of FastAPI (docs/architecture.md, "The protocol front").

Operators' tools (the CLI): :func:`create_client` (client metadata, RFC 7591 §2, checked as at
``/register``) and :class:`RegisteredClient`; :func:`disable_client`, :func:`rotate_client_secret`,
:func:`revoke_grant_by_id` and :func:`revoke_access_token` (refused at once by every worker, issue 14);
:func:`rotate_signing_key` and
:class:`SigningKeyError` (``idp.oauth.keys.rotate``/``KeyError_``: publish first, sign later, OIDC
Core §10.1.1).

Resource servers (each checks audience and kind: docs/architecture.md "JWT access tokens: audience and
kind"; RFC 9068 §4, RFC 8707, RFC 6750, RFC 9449 §7): :func:`presented_token`, :func:`verify_presented`
and :func:`verify_token` with :class:`Resource` (who checks) and :class:`TokenKind` (whom the token
speaks for), giving :class:`AccessTokenClaims` or raising :class:`TokenRefused` (RFC 6750 §3.1);
:func:`json_error` answers in the provider's error format (RFC 6749 §5.2). The application renders
:class:`TokenRefused`, :class:`ProtocolError` and :class:`DPoPError` in one place
(``app/error_handlers.py``), descriptions filtered by :func:`safe_description`.

Minting for the wallet's issuance port: :func:`mint_access_token` gives the credential endpoint its
pre-authorized-code token (OpenID4VCI 1.0 §6.1, RFC 9068 §2) without reaching into the provider's
services; :class:`DetailsError` is what an ``authorization_details`` handler raises for an entry it
refuses (RFC 9396 §5, ``invalid_authorization_details``).

Claims, for the register's userinfo and ID token claims (OIDC Core 1.0 §5.4, §5.5):
:func:`requested_claim_names`, :func:`wanted_claims` and :func:`split_name`.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from idp.lazy_face import lazy_attributes

if TYPE_CHECKING:
    from idp.models import OAuthGrant
    from idp.oauth.attestation import WalletProviders, load_wallet_providers
    from idp.oauth.claims import requested_claim_names, split_name, wanted_claims
    from idp.oauth.clients import RegisteredClient, create_client
    from idp.oauth.config import OAuthConfig
    from idp.oauth.details import DetailsError
    from idp.oauth.dpop import DPoPError
    from idp.oauth.errors import safe_description
    from idp.oauth.extensions import ProviderExtensions
    from idp.oauth.front import FRONT_ROUTES
    from idp.oauth.http import ProtocolError
    from idp.oauth.keys import KeyError_ as SigningKeyError
    from idp.oauth.keys import rotate as rotate_signing_key
    from idp.oauth.logout import deliver_now
    from idp.oauth.operator import disable_client, revoke_access_token, revoke_grant_by_id, rotate_client_secret
    from idp.oauth.redis_store import RedisReplayCache
    from idp.oauth.replay import DatabaseReplayCache
    from idp.oauth.resource import TokenRefused, presented_token, verify_presented, verify_token
    from idp.oauth.runtime import OAuthDep, OAuthRuntime, build_oauth, build_services
    from idp.oauth.server import json_error
    from idp.oauth.services import OAuthServices
    from idp.oauth.tokens import AccessTokenClaims, Resource, TokenKind

__all__ = [
    "FRONT_ROUTES",
    "AccessTokenClaims",
    "DPoPError",
    "DatabaseReplayCache",
    "DetailsError",
    "OAuthConfig",
    "OAuthDep",
    "OAuthRuntime",
    "OAuthServices",
    "ProtocolError",
    "ProviderExtensions",
    "RedisReplayCache",
    "RegisteredClient",
    "Resource",
    "SigningKeyError",
    "TokenKind",
    "TokenRefused",
    "WalletProviders",
    "build_oauth",
    "build_services",
    "create_client",
    "deliver_now",
    "disable_client",
    "json_error",
    "load_wallet_providers",
    "mint_access_token",
    "presented_token",
    "requested_claim_names",
    "revoke_access_token",
    "revoke_grant_by_id",
    "rotate_client_secret",
    "rotate_signing_key",
    "safe_description",
    "split_name",
    "verify_presented",
    "verify_token",
    "wanted_claims",
]

#: each name of the face and its home, ``module`` or ``module:name`` where the face renames it
_HOMES: dict[str, str] = {
    # building the provider
    "OAuthConfig": "idp.oauth.config",
    "build_oauth": "idp.oauth.runtime",
    "build_services": "idp.oauth.runtime",
    "OAuthServices": "idp.oauth.services",
    "ProviderExtensions": "idp.oauth.extensions",
    "OAuthRuntime": "idp.oauth.runtime",
    "OAuthDep": "idp.oauth.runtime",
    "DatabaseReplayCache": "idp.oauth.replay",
    "RedisReplayCache": "idp.oauth.redis_store",
    "WalletProviders": "idp.oauth.attestation",
    "load_wallet_providers": "idp.oauth.attestation",
    "deliver_now": "idp.oauth.logout",
    # the protocol front's routes, dispatched ahead of FastAPI (app/front.py)
    "FRONT_ROUTES": "idp.oauth.front",
    # operators' tools
    "create_client": "idp.oauth.clients",
    "RegisteredClient": "idp.oauth.clients",
    "rotate_signing_key": "idp.oauth.keys:rotate",
    "SigningKeyError": "idp.oauth.keys:KeyError_",
    "disable_client": "idp.oauth.operator",
    "rotate_client_secret": "idp.oauth.operator",
    "revoke_grant_by_id": "idp.oauth.operator",
    "revoke_access_token": "idp.oauth.operator",
    # resource servers
    "presented_token": "idp.oauth.resource",
    "verify_presented": "idp.oauth.resource",
    "verify_token": "idp.oauth.resource",
    "AccessTokenClaims": "idp.oauth.tokens",
    "Resource": "idp.oauth.tokens",
    "TokenKind": "idp.oauth.tokens",
    "json_error": "idp.oauth.server",
    # errors the application renders (app/error_handlers.py): RFC 6750 §3.1 refusals, RFC 6749 §5.2
    # unreadable requests, RFC 9449 §5 proofs refused at the token endpoint, and the description filter
    "TokenRefused": "idp.oauth.resource",
    "ProtocolError": "idp.oauth.http",
    "DPoPError": "idp.oauth.dpop",
    "safe_description": "idp.oauth.errors",
    # authorization details (mint_access_token is defined below)
    "DetailsError": "idp.oauth.details",
    # claims
    "requested_claim_names": "idp.oauth.claims",
    "wanted_claims": "idp.oauth.claims",
    "split_name": "idp.oauth.claims",
}

if not TYPE_CHECKING:  # mypy reads the imports above; a module __getattr__ would make every name Any
    __getattr__, __dir__ = lazy_attributes(globals(), _HOMES, __all__)


def mint_access_token(
    services: OAuthServices,
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
    """A JWT access token of this provider and its lifetime in seconds (RFC 9068 §2): ``audience``
    names the resource servers it may be spent at, ``kind`` whom it speaks for, ``at_most`` shortens
    the configured lifetime (never lengthens it). The wallet's pre-authorized-code grant mints with
    this (OpenID4VCI 1.0 §6.1)."""
    return services.tokens.mint_access_token(
        client_id=client_id,
        subject=subject,
        scope=scope,
        grant=grant,
        jkt=jkt,
        kind=kind,
        audience=audience,
        extra=extra,
        at_most=at_most,
    )
