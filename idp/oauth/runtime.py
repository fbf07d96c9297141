"""Building the OpenID provider for one application, and the request-scoped dependencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine

from common.invalidation import InvalidationBus
from idp.oauth.attest_auth import AttestJwtClientAuth
from idp.oauth.attestation import AttestationVerifier, WalletProviders
from idp.oauth.authorize import AuthorizationEndpoint
from idp.oauth.authz_request import AuthorizationRequests
from idp.oauth.clients import ATTEST
from idp.oauth.config import OAuthConfig
from idp.oauth.details import DetailsHandler, NoDetails
from idp.oauth.discovery import metadata
from idp.oauth.dpop import DPoPVerifier
from idp.oauth.endpoints import Introspection, Revocation
from idp.oauth.extensions import ProviderExtensions, as_authlib_grant
from idp.oauth.grants import ClientCredentials, CodeGrant, PrivateKeyJwt, RefreshGrant, S256Challenge
from idp.oauth.hot_cache import HotCaches
from idp.oauth.issuance import Issuer
from idp.oauth.keys import KeyStore, json_bytes
from idp.oauth.logout import HttpPoster, Poster
from idp.oauth.registration import Registration
from idp.oauth.replay import ReplayCache
from idp.oauth.server import GenbaAuthorizationServer
from idp.oauth.services import OAuthServices
from idp.oauth.tokens import TokenService
from idp.runtime import Clock, Randomness
from idp.secretbox import SecretBox, derive_key


@dataclass
class OAuthRuntime:
    services: OAuthServices
    server: GenbaAuthorizationServer
    requests: AuthorizationRequests
    authorize: AuthorizationEndpoint
    issuer: Issuer
    poster: Poster
    registration: Registration
    extensions: ProviderExtensions
    _discovery: bytes | None = field(default=None, init=False, repr=False)

    def metadata(self) -> dict[str, Any]:
        """Provider metadata (OIDC Discovery 1.0 §3, RFC 8414 §2) with what the extensions contribute."""
        config = self.services.config
        data = metadata(config, registration=bool(config.registration_token_hash))
        data.update(self.extensions.metadata)
        data["grant_types_supported"] = data["grant_types_supported"] + [
            g.grant_type for g in self.extensions.token_grants
        ]
        return data

    def discovery_document(self) -> bytes:
        """The metadata as served, rendered on first use and then kept: it depends only on the
        configuration and on the extensions, both fixed when the provider was built."""
        document = self._discovery
        if document is None:
            document = self._discovery = json_bytes(self.metadata())
        return document


def build_services(
    config: OAuthConfig,
    *,
    engine: Engine,
    clock: Clock,
    rng: Randomness,
    master_secret: bytes,
    replay: ReplayCache,
    details_handler: DetailsHandler | None = None,
    invalidation: InvalidationBus | None = None,
) -> OAuthServices:
    """The provider's collaborators: keys, token service, DPoP, replay cache, the worker's caches.
    Built before the provider (:func:`build_oauth`) so that a part whose extension needs them (the
    wallet mints and checks tokens with them) can be built in between. ``details_handler`` answers
    RFC 9396 ``authorization_details`` here because token checks ask it whether they still hold (§7);
    ``invalidation`` is the worker's bus the caches listen to (without one nothing is cached:
    idp/oauth/hot_cache.py)."""
    keys = KeyStore(engine, SecretBox(master_secret, "signing-keys", rng), clock)
    details = details_handler or NoDetails()
    caches = HotCaches(invalidation)
    return OAuthServices(
        config=config,
        engine=engine,
        keys=keys,
        tokens=TokenService(config, keys, clock, rng, details_valid=details.still_valid, caches=caches),
        dpop=DPoPVerifier(config, derive_key(master_secret, "dpop-nonce"), replay),
        replay=replay,
        clock=clock,
        rng=rng,
        subject_salt=derive_key(master_secret, "pairwise-subject"),
        details=details,
        caches=caches,
        hot_ready=caches.ready if invalidation is not None else (lambda: False),
    )


def build_oauth(
    services: OAuthServices,
    *,
    extensions: ProviderExtensions | None = None,
    poster: Poster | None = None,
    wallet_providers: WalletProviders | None = None,
) -> OAuthRuntime:
    """The provider over ``services``, with every extension given now (``idp.oauth.extensions``)."""
    config, clock, replay = services.config, services.clock, services.replay
    extensions = extensions or ProviderExtensions()
    issuer = Issuer(services, extensions.id_token_claims)
    server = GenbaAuthorizationServer(services, issuer)
    server.register_grant(CodeGrant, [S256Challenge(required=True)])
    server.register_grant(RefreshGrant)
    server.register_grant(ClientCredentials)
    for grant in extensions.token_grants:
        server.register_grant(as_authlib_grant(grant))
    audiences = [config.issuer, *(config.url(p) for p in ("/token", "/par", "/revoke", "/introspect"))]
    server.register_client_auth_method("private_key_jwt", PrivateKeyJwt(services, audiences))
    # trusted by the operator only (GENBA_WALLET_PROVIDERS); with none, every attestation is invalid_client
    attestations = AttestationVerifier(
        wallet_providers or WalletProviders(),
        issuer=config.issuer,
        clock=clock,
        replay=replay,
        skew=config.clock_skew,
    )
    server.register_client_auth_method(ATTEST, AttestJwtClientAuth(attestations))
    server.register_endpoint(Revocation(server, services))
    server.register_endpoint(Introspection(server, services))
    requests = AuthorizationRequests(services)
    return OAuthRuntime(
        services=services,
        server=server,
        requests=requests,
        authorize=AuthorizationEndpoint(services, server, requests),
        issuer=issuer,
        poster=poster or HttpPoster(config.outbound),
        registration=Registration(server, services),
        extensions=extensions,
    )


async def get_oauth(request: Request) -> OAuthRuntime:
    """``async`` although it does not wait for anything: FastAPI runs a plain ``def`` dependency in
    the thread pool, a thread hand-off on every protocol request for one attribute read."""
    runtime: OAuthRuntime = request.app.state.oauth
    return runtime


OAuthDep = Annotated[OAuthRuntime, Depends(get_oauth)]
