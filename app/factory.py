"""``create_app(settings)``: builds one Genba ID web application. No import-time singletons."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.types import ASGIApp

from app import certificate_pages, error_handlers, history_pages, ops, wallet_pages
from app.cross_site import CrossSiteGuard
from app.database import make_engine
from app.front import ProtocolFront
from app.gate_wiring import RegisterGate
from app.invalidation import install_fence, worker_invalidation
from app.lifespan import worker_lifespan
from app.logs import AccessLogMiddleware, protect_library_loggers
from app.middleware import (
    BodyLimitMiddleware,
    NulRefusalMiddleware,
    SecurityHeadersMiddleware,
)
from app.ratelimit import RateLimitMiddleware, address_rate
from app.runtimes import (
    build_idp_runtime,
    build_wallet,
    idp_config,
    oauth_config,
    provider_extensions,
    redis_client,
    trusted_wallet_providers,
)
from app.settings import Settings
from app.wallet_wiring import CompositeDetails, CredentialDetails, RegisterHolderData
from common import outbound
from connectors.sources.mynaportal.client import MyNaPortalClient
from consent.policy import PolicyEngine
from consent.service import ConsentService
from idp.oauth.public import FRONT_ROUTES, DatabaseReplayCache, RedisReplayCache, build_oauth, build_services
from idp.public import (
    Clock,
    IdpConfig,
    Randomness,
    SystemRandomness,
    build_router,
    system_clock,
)
from register.details import ConsentDetails
from register.directory import RegisterDirectory
from register.routes import build_router as build_register_router
from wallet import oid4vci
from wallet import web as wallet_web
from wallet.gate import offline as gate_offline
from wallet.gate import pages as gate_pages
from wallet.gate import vp as gate_vp
from wallet.gate.service import GateRuntime

IDP_STATIC = Path(__file__).resolve().parent.parent / "idp" / "web" / "static"


def create_app(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    rng: Randomness | None = None,
    engine: Engine | None = None,
    protocol_front: bool = True,
) -> FastAPI:
    """The application. ``protocol_front=False`` leaves every request to FastAPI's routes, the general
    path the protocol front (app/front.py) must answer exactly like (its differential test builds both)."""
    protect_library_loggers()
    engine = engine or make_engine(
        settings.database_url, pool_size=settings.worker_threads, max_overflow=settings.worker_threads
    )
    rng = rng or SystemRandomness()
    config = idp_config(settings)
    invalidation = worker_invalidation(engine)  # the worker's caches, told of changes by the database
    install_fence(engine, bound=settings.cache_fence_seconds)
    app = GenbaApp(
        title="Genba ID",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=worker_lifespan(
            settings.logout_retry_seconds, settings.worker_threads, settings.purge_interval_seconds, clock
        ),
    )
    app.state.invalidation = invalidation
    _build_state(app, settings, config, engine=engine, clock=clock, rng=rng)
    _include_routes(app)
    error_handlers.install(app)
    _add_middleware(app, settings, config, engine=engine, clock=clock, protocol_front=protocol_front)
    return app


class GenbaApp(FastAPI):
    """FastAPI with the access log (``app/logs.py::AccessLogMiddleware``) around its whole stack, even
    Starlette's last-resort error middleware, so the line records the status the caller got (the
    503 of a database that is down, not the exception's 500)."""

    def build_middleware_stack(self) -> ASGIApp:
        return AccessLogMiddleware(super().build_middleware_stack())


def _build_state(
    app: FastAPI, settings: Settings, config: IdpConfig, *, engine: Engine, clock: Clock, rng: Randomness
) -> None:
    """Each area's runtime on ``app.state``, wired to the others through their ports."""
    app.state.settings = settings
    app.state.engine = engine
    app.state.redis = redis_client(settings)
    app.state.idp = build_idp_runtime(config, engine, clock, rng, app.state.redis, settings.redis_prefix)
    holders = RegisterHolderData(engine)
    app.state.consent = ConsentService(engine, RegisterDirectory(engine), PolicyEngine(settings.policies_dir))
    services = build_services(
        oauth_config(settings),
        engine=engine,
        clock=clock,
        rng=rng,
        master_secret=config.master_secret,
        replay=RedisReplayCache(app.state.redis, prefix=f"{settings.redis_prefix}replay:")
        if app.state.redis is not None
        else DatabaseReplayCache(),
        details_handler=CompositeDetails(
            ConsentDetails(app.state.consent, engine, clock), CredentialDetails(holders, engine)
        ),
        invalidation=app.state.invalidation.bus,
    )
    app.state.wallet = build_wallet(
        settings,
        engine=engine,
        clock=clock,
        rng=rng,
        holders=holders,
        services=services,
        master_secret=config.master_secret,
    )
    # every extension of the provider given as it is built (idp/oauth/extensions.py), none attached later
    app.state.oauth = build_oauth(
        services,
        extensions=provider_extensions(app.state.consent, app.state.wallet, clock),
        wallet_providers=trusted_wallet_providers(settings),
    )
    app.state.gate = GateRuntime(
        app.state.wallet,
        RegisterGate(
            engine,
            app.state.consent,
            app.state.idp.sessions,
            app.state.idp.config.cookie_prefix + app.state.idp.config.cookie_name,
            clock,
        ),
    )
    secret = settings.mynaportal_client_secret.get_secret_value() if settings.mynaportal_client_secret else ""
    app.state.mynaportal = MyNaPortalClient(
        settings.mynaportal_url,
        settings.mynaportal_client_id,
        secret,
        http=outbound.client(settings.outbound_policy()),
    )


def _include_routes(app: FastAPI) -> None:
    app.include_router(build_router())  # the OAuth endpoints first (see build_router)
    app.include_router(build_register_router())
    app.include_router(ops.router)
    app.include_router(oid4vci.router)
    app.include_router(wallet_web.router)  # the web wallet (/wallet/app)
    app.include_router(gate_vp.router)
    app.include_router(gate_offline.router)
    app.include_router(gate_pages.router)  # the gate page (/gate/app)
    app.include_router(wallet_pages.router)
    app.include_router(history_pages.router)
    app.include_router(certificate_pages.router)
    app.mount("/static/idp", StaticFiles(directory=IDP_STATIC), name="idp-static")


def _add_middleware(
    app: FastAPI, settings: Settings, config: IdpConfig, *, engine: Engine, clock: Clock, protocol_front: bool
) -> None:
    """The middleware, innermost first (each one added wraps the ones before it). The protocol front is
    the innermost: every layer below wraps its routes and FastAPI's alike (docs/architecture.md)."""
    if protocol_front:
        app.add_middleware(ProtocolFront, routes=FRONT_ROUTES, exception_handlers=app.exception_handlers)
    if settings.anonymous_requests_per_minute > 0:
        rate = address_rate(
            engine, clock, settings.anonymous_requests_per_minute, app.state.redis, settings.redis_prefix
        )
        app.add_middleware(RateLimitMiddleware, rate=rate)
    app.add_middleware(
        CrossSiteGuard, issuer=config.issuer, session_cookie=config.cookie_prefix + config.cookie_name
    )  # app/cross_site.py: every cookie-authenticated state change, refused when another site sends it
    app.add_middleware(NulRefusalMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(ops.OpsMiddleware, max_inflight=settings.max_inflight)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
