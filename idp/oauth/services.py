"""The OpenID provider's collaborators, built once per application."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from idp.oauth.config import OAuthConfig
from idp.oauth.dpop import DPoPVerifier
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
    #: True while the per-worker caches answer without touching the database: the protocol front
    #: (idp/oauth/front.py) then runs token, introspection and userinfo on the event loop instead of
    #: the thread pool. A SQLAlchemy Session connects only when first used, so a cache hit costs no
    #: blocking call (docs/architecture.md, "The protocol front").
    hot_ready: Callable[[], bool] = field(default=_cold)
