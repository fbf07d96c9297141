"""OpenID provider configuration and the per-request database session authlib's hooks use."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import Session

from common.outbound import OutboundPolicy

STANDARD_SCOPES = ("openid", "profile", "email", "phone", "address", "offline_access")
#: CCUS data, released only through the consent engine (technician and employer approval).
CCUS_SCOPES = ("ccus.qualifications", "ccus.affiliation", "ccus.work_history", "ccus.attendance")
OFFERED_SCOPES = STANDARD_SCOPES + CCUS_SCOPES


@dataclass(frozen=True)
class OAuthConfig:
    issuer: str
    code_lifetime: timedelta = timedelta(seconds=60)
    access_token_lifetime: timedelta = timedelta(minutes=10)
    id_token_lifetime: timedelta = timedelta(hours=1)
    refresh_token_lifetime: timedelta = timedelta(days=30)
    refresh_grace: timedelta = timedelta(seconds=10)
    par_lifetime: timedelta = timedelta(seconds=60)
    interaction_lifetime: timedelta = timedelta(minutes=15)
    dpop_proof_max_age: timedelta = timedelta(minutes=5)
    clock_skew: timedelta = timedelta(seconds=30)
    dpop_nonce_required: bool = False
    signing_alg: str = "ES256"
    registration_token_hash: str | None = None
    max_param_length: int = 2048
    #: where the provider may send requests (back-channel logout); issue 12 hole 6
    outbound: OutboundPolicy = field(default_factory=OutboundPolicy)

    def url(self, path: str) -> str:
        return self.issuer.rstrip("/") + path


_db: contextvars.ContextVar[Session] = contextvars.ContextVar("genba_oauth_db")


@contextmanager
def bound_session(session: Session) -> Iterator[Session]:
    """Make ``session`` the one authlib's hooks use for this request (copied into worker threads)."""
    token = _db.set(session)
    try:
        yield session
    finally:
        _db.reset(token)


def current_db() -> Session:
    return _db.get()
