"""``create_app(settings)``: builds one Genba ID web application. No import-time singletons."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio.to_thread
import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from app import certificate_pages, history_pages, housekeeping, ops, wallet_pages
from app.cross_site import CrossSiteGuard
from app.database import make_engine
from app.gate_wiring import RegisterGate
from app.logs import protect_library_loggers
from app.middleware import (
    REQUEST_ID_KEY,
    BodyLimitMiddleware,
    NulRefusalMiddleware,
    SecurityHeadersMiddleware,
    request_id_var,
)
from app.ratelimit import RateLimitMiddleware, address_rate
from app.settings import Settings, SettingsError
from app.wallet_wiring import CompositeDetails, CredentialDetails, ProviderTokens, RegisterHolderData
from common import outbound
from connectors.sources.mynaportal.client import MyNaPortalClient
from consent.policy import PolicyEngine
from consent.service import ConsentService
from idp.oauth.public import (
    DatabaseReplayCache,
    OAuthConfig,
    OAuthRuntime,
    RedisReplayCache,
    WalletProviders,
    build_oauth,
    load_wallet_providers,
)
from idp.public import (
    BadForm,
    Clock,
    FieldProblem,
    IdpConfig,
    IdpRuntime,
    KnownDevices,
    Passwords,
    Randomness,
    RedisThrottle,
    SecretBox,
    SecretBoxError,
    SessionStore,
    SignIn,
    SystemRandomness,
    Throttle,
    Throttler,
    build_router,
    derive_key,
    make_templates,
    render,
    system_clock,
)
from register.claims import ccus_id_token, ccus_userinfo
from register.consent_screen import preview as release_preview
from register.details import ConsentDetails
from register.directory import RegisterDirectory
from register.routes import build_router as build_register_router
from wallet import oid4vci
from wallet import web as wallet_web
from wallet.gate import offline as gate_offline
from wallet.gate import pages as gate_pages
from wallet.gate import vp as gate_vp
from wallet.gate.service import GateRuntime
from wallet.keys import KeyRing
from wallet.offers import PRE_AUTH_GRANT, pre_authorized_grant
from wallet.runtime import WalletConfig, WalletRuntime
from wallet.status import StatusPublisher

log = logging.getLogger("genba.app")
IDP_STATIC = Path(__file__).resolve().parent.parent / "idp" / "web" / "static"


def idp_config(settings: Settings) -> IdpConfig:
    return IdpConfig(
        issuer=settings.issuer.rstrip("/"),
        master_secret=settings.resolved_secret(),
        secure_cookies=settings.secure_cookies,
        cookie_name=settings.cookie_name,
        session_idle=timedelta(minutes=settings.session_idle_minutes),
        session_absolute=timedelta(hours=settings.session_absolute_hours),
        login_transaction=timedelta(minutes=settings.login_transaction_minutes),
        argon2_memory_kib=settings.argon2_memory_kib,
        argon2_time_cost=settings.argon2_time_cost,
        argon2_parallelism=settings.argon2_parallelism,
        rp_name=settings.rp_name,
        max_body_bytes=settings.max_body_bytes,
    )


def oauth_config(settings: Settings) -> OAuthConfig:
    return OAuthConfig(
        issuer=settings.issuer.rstrip("/"),
        code_lifetime=timedelta(seconds=settings.code_lifetime_seconds),
        access_token_lifetime=timedelta(minutes=settings.access_token_minutes),
        refresh_token_lifetime=timedelta(days=settings.refresh_token_days),
        refresh_grace=timedelta(seconds=settings.refresh_grace_seconds),
        dpop_nonce_required=settings.dpop_nonce_required,
        signing_alg=settings.signing_alg,
        registration_token_hash=settings.registration_token_sha256,
        outbound=settings.outbound_policy(),
    )


def trusted_wallet_providers(settings: Settings) -> WalletProviders:
    """The operator's wallet providers (``GENBA_WALLET_PROVIDERS``); a file that cannot be read or
    holds anything but public keys stops the start, rather than trusting less or more than meant."""
    try:
        return load_wallet_providers(settings.wallet_providers)
    except ValueError as exc:
        raise SettingsError(f"GENBA_WALLET_PROVIDERS: {exc}") from None


def build_wallet(
    settings: Settings,
    *,
    engine: Engine,
    clock: Clock,
    rng: Randomness,
    holders: RegisterHolderData,
    oauth: OAuthRuntime,
    master_secret: bytes,
) -> WalletRuntime:
    issuer = settings.issuer.rstrip("/")
    keys = KeyRing(engine, SecretBox(master_secret, "wallet-keys", rng), issuer=issuer)
    runtime = WalletRuntime(
        config=WalletConfig(issuer=issuer),
        engine=engine,
        clock=clock,
        keys=keys,
        publisher=StatusPublisher(engine, keys, issuer=issuer, clock=clock),
        holders=holders,
        tokens=ProviderTokens(oauth),
        code_key=derive_key(master_secret, "wallet-pre-authorized-code"),
    )
    oauth.server.register_grant(pre_authorized_grant(runtime))
    oauth.extra_metadata.update({"pre-authorized_grant_anonymous_access_supported": True})
    oauth.extra_grant_types.append(PRE_AUTH_GRANT)
    return runtime


def redis_client(settings: Settings) -> redis.Redis | None:
    """Shared state for many workers on many hosts (replay caches, rate limits); None: the database."""
    if not settings.redis_url:
        return None
    return redis.Redis.from_url(settings.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)


def build_idp_runtime(
    config: IdpConfig,
    engine: Engine,
    clock: Clock,
    rng: Randomness,
    shared: redis.Redis | None = None,
    redis_prefix: str = "genba:",
) -> IdpRuntime:
    passwords = Passwords(
        memory_kib=config.argon2_memory_kib, time_cost=config.argon2_time_cost, parallelism=config.argon2_parallelism
    )
    sessions = SessionStore(config, rng)
    throttle: Throttler = (
        RedisThrottle(shared, config.throttle_rules, config.throttle_window, prefix=redis_prefix, rng=rng)
        if shared is not None
        else Throttle(config.throttle_rules, config.throttle_window, rng=rng)
    )
    totp_box = SecretBox(config.master_secret, "totp", rng)
    signin = SignIn(
        config=config,
        passwords=passwords,
        throttle=throttle,
        sessions=sessions,
        totp_box=totp_box,
        clock=clock,
        rng=rng,
        devices=KnownDevices(config, rng),
    )
    return IdpRuntime(
        config=config,
        engine=engine,
        clock=clock,
        rng=rng,
        passwords=passwords,
        sessions=sessions,
        throttle=throttle,
        totp_box=totp_box,
        signin=signin,
        templates=make_templates(),
    )


def _lifespan(retry_seconds: int, threads: int, purge_seconds: int, clock: Clock) -> Any:
    """Background retries of back-channel logout deliveries while the app runs (0 disables); the
    worker's thread pool limited to ``threads`` (the database pool is sized for it); expired rows
    deleted before serving and every ``purge_seconds`` (0 disables; app/housekeeping.py)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        tasks = [asyncio.create_task(_retry_logout(app, retry_seconds))] if retry_seconds > 0 else []
        if purge_seconds > 0:
            window = app.state.idp.config.throttle_window
            await housekeeping.purge_logged(
                app.state.engine, clock, throttle_window=window, max_batches=housekeeping.STARTUP_BATCHES
            )
            every = housekeeping.purge_periodically(
                app.state.engine, clock, every=purge_seconds, throttle_window=window
            )
            tasks.append(asyncio.create_task(every))
        yield
        for task in tasks:
            task.cancel()

    return lifespan


async def _retry_logout(app: FastAPI, every: int) -> None:
    from idp.oauth.public import deliver_now

    while True:
        await asyncio.sleep(every)
        try:
            await run_in_threadpool(deliver_now, app.state.oauth.services, app.state.oauth.poster)
        except Exception:  # keep retrying on the next tick; the error is logged
            log.exception("back-channel logout retry failed")


#: OAuth/OIDC/OpenID4VCI endpoints whose callers are programs: errors are JSON objects with a spec
#: error code (RFC 6749 §5.2), never an HTML page or a stack trace (issue 12 item 8)
PROTOCOL_PATHS = ("/token", "/par", "/introspect", "/revoke", "/register", "/userinfo", "/credential", "/jwks")


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    path = request.url.path
    return (
        path.startswith(("/api/", "/login/passkey/", "/account/passkeys/", "/wallet/nonce", "/.well-known/"))
        or any(path == p or path.startswith(p + "/") for p in PROTOCOL_PATHS)
        or ("application/json" in accept and "text/html" not in accept)
    )


def create_app(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    rng: Randomness | None = None,
    engine: Engine | None = None,
) -> FastAPI:
    protect_library_loggers()
    engine = engine or make_engine(
        settings.database_url, pool_size=settings.worker_threads, max_overflow=settings.worker_threads
    )
    rng = rng or SystemRandomness()
    config = idp_config(settings)
    app = FastAPI(
        title="Genba ID",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=_lifespan(
            settings.logout_retry_seconds, settings.worker_threads, settings.purge_interval_seconds, clock
        ),
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.redis = redis_client(settings)
    app.state.idp = build_idp_runtime(config, engine, clock, rng, app.state.redis, settings.redis_prefix)
    holders = RegisterHolderData(engine)
    app.state.consent = ConsentService(engine, RegisterDirectory(engine), PolicyEngine(settings.policies_dir))
    app.state.userinfo_extra = ccus_userinfo(app.state.consent, clock)
    app.state.release_preview = functools.partial(release_preview, app.state.consent)
    app.state.oauth = build_oauth(
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
        wallet_providers=trusted_wallet_providers(settings),
    )
    app.state.oauth.issuer.id_token_extra = ccus_id_token(app.state.consent, clock)
    app.state.wallet = build_wallet(
        settings,
        engine=engine,
        clock=clock,
        rng=rng,
        holders=holders,
        oauth=app.state.oauth,
        master_secret=config.master_secret,
    )
    app.include_router(build_router())  # the OAuth endpoints first (see build_router)
    app.include_router(build_register_router())
    app.include_router(ops.router)
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
    app.include_router(oid4vci.router)
    app.include_router(wallet_web.router)  # the web wallet (/wallet/app)
    app.include_router(gate_vp.router)
    app.include_router(gate_offline.router)
    app.include_router(gate_pages.router)  # the gate page (/gate/app)
    app.include_router(wallet_pages.router)
    app.include_router(history_pages.router)
    app.include_router(certificate_pages.router)
    secret = settings.mynaportal_client_secret.get_secret_value() if settings.mynaportal_client_secret else ""
    app.state.mynaportal = MyNaPortalClient(
        settings.mynaportal_url,
        settings.mynaportal_client_id,
        secret,
        http=outbound.client(settings.outbound_policy()),
    )
    app.mount("/static/idp", StaticFiles(directory=IDP_STATIC), name="idp-static")

    def page_error(request: Request, status: int, ja: str, en: str) -> Response:
        if _wants_json(request):
            return JSONResponse(
                {
                    "error": "invalid_request" if status < 500 else "server_error",
                    "error_description": en,
                    "message": f"{ja} / {en}",
                },
                status_code=status,
            )
        lang_message = (
            en if request.query_params.get("lang") == "en" or request.cookies.get("genba_lang") == "en" else ja
        )
        return render(request, app.state.idp, "error.html", {"message": lang_message}, status=status)

    @app.exception_handler(BadForm)
    async def _bad_form(request: Request, exc: BadForm) -> Response:
        return page_error(request, exc.status, exc.ja, exc.en)

    @app.exception_handler(FieldProblem)
    async def _field_problem(request: Request, exc: FieldProblem) -> Response:
        return page_error(request, 400, f"{exc.field}: {exc.ja}", f"{exc.field}: {exc.en}")

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return page_error(request, 400, "入力が正しくありません", "the request is not valid")

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404:
            return page_error(request, 404, "ページが見つかりません", "page not found")
        return page_error(request, exc.status_code, str(exc.detail), str(exc.detail))

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> Response:
        """The client went away while sending its body: nothing to answer, nothing to alarm anyone."""
        log.debug("client disconnected before its request was read (request id %s)", request_id_var.get())
        return Response(status_code=400)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        """The last resort (Starlette runs it outside every middleware): logged with the request's
        id, answered without a stack trace, the id in ``X-Request-Id`` for the support desk."""
        rid = str(request.scope.get(REQUEST_ID_KEY) or request_id_var.get())
        token = request_id_var.set(rid)
        try:
            if ops.dependency_down(exc):
                log.warning("backing service unavailable: %s (request id %s)", type(exc).__name__, rid)
                response = ops.unavailable_response()
            elif isinstance(exc, SecretBoxError):
                # keys sealed under another GENBA_SECRET_KEY: /readyz says so too (issue 12 item 8)
                log.error("stored keys cannot be opened with this GENBA_SECRET_KEY (request id %s)", rid)
                response = keys_unavailable(request)
            else:
                log.exception("unhandled error (request id %s)", rid)
                response = page_error(
                    request, 500, "処理中に問題が発生しました", "something went wrong; please try again later"
                )
        finally:
            request_id_var.reset(token)
        response.headers["X-Request-Id"] = rid
        return response

    def keys_unavailable(request: Request) -> Response:
        if _wants_json(request):
            return JSONResponse(
                {"error": "temporarily_unavailable", "error_description": "the service cannot sign right now"},
                status_code=503,
                headers={"Retry-After": "30", "Cache-Control": "no-store"},
            )
        return page_error(
            request, 503, "ただいまサービスを利用できません", "the service is unavailable; please try again later"
        )

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
    return app
