"""Each area's runtime built from the settings (the identity provider, the OpenID provider's
configuration, the wallet, the shared Redis): the parts ``create_app`` wires together."""

from __future__ import annotations

import functools
from datetime import timedelta

import redis
from sqlalchemy import Engine

from app.home_sections import gate_sections
from app.settings import Settings, SettingsError
from app.wallet_wiring import ProviderTokens, RegisterHolderData
from consent.service import ConsentService
from idp.oauth.public import (
    OAuthConfig,
    OAuthServices,
    ProviderExtensions,
    WalletProviders,
    load_wallet_providers,
)
from idp.public import (
    Clock,
    IdpConfig,
    IdpRuntime,
    KnownDevices,
    Passwords,
    Randomness,
    RedisThrottle,
    SecretBox,
    SessionStore,
    SignIn,
    Throttle,
    Throttler,
    derive_key,
    make_templates,
)
from register.claims import ccus_id_token, ccus_userinfo
from register.consent_screen import preview as release_preview
from wallet.keys import KeyRing
from wallet.offers import PreAuthorizedCodeGrant
from wallet.runtime import WalletConfig, WalletRuntime
from wallet.status import StatusPublisher


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
    services: OAuthServices,
    master_secret: bytes,
) -> WalletRuntime:
    """The credential issuer, minting and checking tokens with the provider's services; the provider
    itself is built after it, with the wallet's pre-authorized code grant (:func:`provider_extensions`)."""
    issuer = settings.issuer.rstrip("/")
    keys = KeyRing(engine, SecretBox(master_secret, "wallet-keys", rng), issuer=issuer)
    runtime = WalletRuntime(
        config=WalletConfig(issuer=issuer),
        engine=engine,
        clock=clock,
        keys=keys,
        publisher=StatusPublisher(engine, keys, issuer=issuer, clock=clock),
        holders=holders,
        tokens=ProviderTokens(services),
        code_key=derive_key(master_secret, "wallet-pre-authorized-code"),
    )
    return runtime


def provider_extensions(consent: ConsentService, wallet: WalletRuntime, clock: Clock) -> ProviderExtensions:
    """What the register and the wallet add to the OpenID provider: technician claims under the
    consent engine (userinfo, ID token, the authorization page's notice), the pre-authorized code
    grant (OpenID4VCI 1.0 §6.1) and its metadata (§12.3: anonymous access, the code names no client)."""
    return ProviderExtensions(
        userinfo_claims=ccus_userinfo(consent, clock),
        id_token_claims=ccus_id_token(consent, clock),
        token_grants=(PreAuthorizedCodeGrant(wallet),),
        metadata={"pre-authorized_grant_anonymous_access_supported": True},
        release_preview=functools.partial(release_preview, consent),
    )


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
        home_sections=(gate_sections,),  # the home's gate-staff section (app/home_sections.py)
    )
