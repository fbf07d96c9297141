"""The OpenID provider's collaborators, built once per application."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from idp.oauth.config import OAuthConfig
from idp.oauth.details import DetailsHandler
from idp.oauth.dpop import DPoPVerifier
from idp.oauth.hot_cache import HotCaches
from idp.oauth.keys import KeyStore
from idp.oauth.replay import ReplayCache
from idp.oauth.tokens import TokenService
from idp.runtime import Clock, Randomness


def _cold() -> bool:
    """No per-worker cache is listening: every look-up may touch the database."""
    return False


@dataclass
class OAuthServices:
    config: OAuthConfig
    engine: Engine
    keys: KeyStore
    tokens: TokenService
    dpop: DPoPVerifier
    replay: ReplayCache
    clock: Clock
    rng: Randomness
    subject_salt: bytes
    #: RFC 9396: validates, grants and re-checks ``authorization_details`` (the consent engine and the
    #: credential issuer, wired by the application; ``details.NoDetails`` when nothing is)
    details: DetailsHandler
    #: the worker's caches of clients, grants, revoked tokens and accounts (idp/oauth/hot_cache.py)
    caches: HotCaches = field(default_factory=HotCaches)
    #: True while the per-worker caches answer without touching the database (the application sets it
    #: to the caches' ``ready``): the protocol front (idp/oauth/front.py) then runs token,
    #: introspection and userinfo on the event loop instead of the thread pool. A SQLAlchemy Session
    #: connects only when first used, so a cache hit costs no blocking call (docs/architecture.md,
    #: "The protocol front").
    hot_ready: Callable[[], bool] = field(default=_cold)
