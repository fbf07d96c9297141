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
from idp.oauth.clients import ATTEST
from idp.oauth.config import OAuthConfig
from idp.oauth.details import DetailsHandler
from idp.oauth.discovery import metadata
from idp.oauth.dpop import DPoPVerifier
from idp.oauth.endpoints import Introspection, Revocation
from idp.oauth.grants import ClientCredentials, CodeGrant, PrivateKeyJwt, RefreshGrant, S256Challenge
from idp.oauth.hot_cache import HotCaches
from idp.oauth.issuance import IdTokenExtension, Issuer
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
    authorize: AuthorizationEndpoint
    issuer: Issuer
    poster: Poster
    registration: Registration
    #: provider metadata and grant types contributed by other parts (the credential issuer's pre-auth grant)
    extra_metadata: dict[str, Any] = field(default_factory=dict)
    extra_grant_types: list[str] = field(default_factory=list)
    _discovery: bytes | None = field(default=None, init=False, repr=False)

    def metadata(self) -> dict[str, Any]:
        """Provider metadata (OIDC Discovery 1.0 §3, RFC 8414 §2) with what other parts contributed."""
        config = self.services.config
        data = metadata(config, registration=bool(config.registration_token_hash))
        data.update(self.extra_metadata)
        data["grant_types_supported"] = data["grant_types_supported"] + self.extra_grant_types
        return data

    def discovery_document(self) -> bytes:
        """The metadata as served, rendered on first use and then kept: it depends only on the
        configuration and on what was contributed while the application was built."""
        document = self._discovery
        if document is None:
            document = self._discovery = json_bytes(self.metadata())
        return document


def build_oauth(
    config: OAuthConfig,
    *,
    engine: Engine,
    clock: Clock,
    rng: Randomness,
    master_secret: bytes,
    replay: ReplayCache,
    poster: Poster | None = None,
    details_handler: DetailsHandler | None = None,
    wallet_providers: WalletProviders | None = None,
    invalidation: InvalidationBus | None = None,
) -> OAuthRuntime:
    """The provider, once per application; ``invalidation`` is the worker's bus its caches listen
    to (without one nothing is cached: idp/oauth/hot_cache.py)."""
    keys = KeyStore(engine, SecretBox(master_secret, "signing-keys", rng), clock)
    caches = HotCaches(invalidation)
    details_valid = details_handler.still_valid if details_handler else None
    services = OAuthServices(
        config=config,
        engine=engine,
        keys=keys,
        tokens=TokenService(config, keys, clock, rng, details_valid=details_valid, caches=caches),
        dpop=DPoPVerifier(config, derive_key(master_secret, "dpop-nonce"), replay),
        replay=replay,
        clock=clock,
        rng=rng,
        subject_salt=derive_key(master_secret, "pairwise-subject"),
        caches=caches,
        hot_ready=caches.ready if invalidation is not None else (lambda: False),
    )
    issuer = Issuer(services)
    server = GenbaAuthorizationServer(issuer.save_token)
    server.services = services
    server.register_grant(CodeGrant, [S256Challenge(required=True), IdTokenExtension(issuer)])
    server.register_grant(RefreshGrant, [IdTokenExtension(issuer)])
    server.register_grant(ClientCredentials)
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
    return OAuthRuntime(
        services=services,
        server=server,
        authorize=AuthorizationEndpoint(services, server, details_handler),
        issuer=issuer,
        poster=poster or HttpPoster(config.outbound),
        registration=Registration(server, services),
    )


async def get_oauth(request: Request) -> OAuthRuntime:
    """``async`` although it does not wait for anything: FastAPI runs a plain ``def`` dependency in
    the thread pool, a thread hand-off on every protocol request for one attribute read."""
    runtime: OAuthRuntime = request.app.state.oauth
    return runtime


OAuthDep = Annotated[OAuthRuntime, Depends(get_oauth)]
