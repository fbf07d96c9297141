"""The OpenID provider's collaborators, built once per application."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from idp.oauth.config import OAuthConfig
from idp.oauth.details import DetailsHandler
from idp.oauth.dpop import DPoPVerifier
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
