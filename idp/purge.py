"""Which rows of the provider's tables can be deleted: those that have expired and that no check
will read again. Several are written for callers who have proved nothing — ``GET /authorize``
stores an interaction, ``POST /par`` a pushed request, ``POST /login/passkey/options`` a pending
session, a failed sign-in throttle counters, every DPoP proof a replay entry — so without this
they grow without bound. app/housekeeping.py deletes them in batches, in the background of every
worker and with ``genba db purge``.

Each entry is data: the table, its primary key, and the condition that says a row is dead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_
from sqlmodel import SQLModel, col

from idp.models import (
    AuthorizationCode,
    Interaction,
    PushedRequest,
    ReplayEntry,
    RevokedToken,
    ThrottleEntry,
    WebSession,
)
from idp.sessions import PENDING

#: a revoked token's jti is kept an hour past the token's own expiry (clock skew leeway)
REVOKED_MARGIN = timedelta(hours=1)
#: a used or expired code is kept a day: a replay within it still revokes what the code issued
#: (RFC 6749 §4.1.2); after that the code is refused as unknown, which is just as final
CODE_MARGIN = timedelta(days=1)
#: a signed-in (or signed-out) session stays listed as history for 30 days after it expired;
#: a pending one (between sign-in steps, or a passkey challenge) goes as soon as it expires
SESSION_HISTORY = timedelta(days=30)
#: throttle counters older than this (and not blocking anyone) are reset on next use anyway
THROTTLE_RETENTION = timedelta(days=1)


@dataclass(frozen=True)
class Expired:
    """The dead rows of one table: ``key`` is its primary key, ``where`` selects them."""

    model: type[SQLModel]
    key: Any
    where: Any


def expired(now: datetime, *, throttle_window: timedelta = THROTTLE_RETENTION) -> list[Expired]:
    retention = max(throttle_window, THROTTLE_RETENTION)
    return [
        Expired(Interaction, col(Interaction.id_hash), col(Interaction.expires_at) <= now),
        Expired(PushedRequest, col(PushedRequest.request_uri_hash), col(PushedRequest.expires_at) <= now),
        Expired(ReplayEntry, col(ReplayEntry.key), col(ReplayEntry.expires_at) <= now),
        Expired(RevokedToken, col(RevokedToken.jti), col(RevokedToken.expires_at) <= now - REVOKED_MARGIN),
        Expired(
            AuthorizationCode, col(AuthorizationCode.code_hash), col(AuthorizationCode.expires_at) <= now - CODE_MARGIN
        ),
        Expired(
            WebSession,
            col(WebSession.id_hash),
            or_(
                (col(WebSession.state) == PENDING) & (col(WebSession.expires_at) <= now),
                col(WebSession.expires_at) <= now - SESSION_HISTORY,
            ),
        ),
        Expired(
            ThrottleEntry,
            col(ThrottleEntry.key),
            (col(ThrottleEntry.first_failure_at) <= now - retention)
            & or_(col(ThrottleEntry.blocked_until).is_(None), col(ThrottleEntry.blocked_until) <= now),
        ),
    ]
