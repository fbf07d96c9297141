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
    #: whether those caches may be believed right now (the application sets it to its invalidation
    #: bus's ``trusted``): a route may answer a hit on the event loop only while this says so
    hot_ready: Callable[[], bool] = lambda: False
