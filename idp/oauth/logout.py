"""Logout: RP-initiated logout (OIDC RP-Initiated Logout 1.0) and back-channel logout
(OIDC Back-Channel Logout 1.0): signed logout tokens, delivery retried with back-off, recorded.

Ending a session also revokes the grants of that session that were not for offline access
(Back-Channel Logout §2.7: refresh tokens without offline_access are revoked at logout).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlmodel import Session, col, select

from common.errors import GenbaError
from common.outbound import OutboundPolicy, OutboundRefused, client
from idp.models import Account, LogoutDelivery
from idp.oauth.claims import subject_for
from idp.oauth.clients import RegisteredClient, find_client
from idp.oauth.request_objects import subject_from_id_token_hint
from idp.oauth.services import OAuthServices
from idp.oauth.tokens import active_grants_for_session, revoke_grant
from idp.runtime import token_urlsafe

log = logging.getLogger("genba.logout")
EVENT = "http://schemas.openid.net/event/backchannel-logout"
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=10)
MAX_RETRY = timedelta(hours=1)


class Poster(Protocol):
    """Sends ``logout_token`` to a back-channel URI; returns the HTTP status (raises on network error)."""

    def __call__(self, uri: str, logout_token: str) -> int: ...


@dataclass(frozen=True)
class EndSessionRequest:
    client: RegisteredClient | None
    post_logout_redirect_uri: str | None
    state: str | None
    hinted_subject: str | None


class EndSessionError(GenbaError, ValueError):
    """The RP-initiated logout request cannot be honoured (OIDC RP-Initiated Logout 1.0 §2, §4)."""

    code = "invalid_request"
    status = 400


def parse_end_session(svc: OAuthServices, db: Session, params: dict[str, str]) -> EndSessionRequest:
    """RP-Initiated Logout §2: ``post_logout_redirect_uri`` only if registered for the client
    identified by ``client_id`` or the ``id_token_hint``'s audience; never an open redirect."""
    client = find_client(db, params.get("client_id")) if params.get("client_id") else None
    if params.get("client_id") and client is None:
        raise EndSessionError("unknown client_id")
    hinted = None
    if params.get("id_token_hint"):
        hint = params["id_token_hint"]
        if client is None:
            client = _client_from_hint(svc, db, hint)
        if client is None:
            raise EndSessionError("id_token_hint is not an ID token issued by this provider")
        hinted = subject_from_id_token_hint(hint, keys=svc.keys, issuer=svc.config.issuer, client_id=client.client_id)
        if hinted is None:
            raise EndSessionError("id_token_hint was not issued to this client")
    uri = params.get("post_logout_redirect_uri")
    if uri:
        if client is None:
            raise EndSessionError("post_logout_redirect_uri needs client_id or id_token_hint")
        if uri not in client.row.post_logout_redirect_uris:
            raise EndSessionError("post_logout_redirect_uri is not registered for this client")
    return EndSessionRequest(client, uri, params.get("state"), hinted)


def _client_from_hint(svc: OAuthServices, db: Session, hint: str) -> RegisteredClient | None:
    import base64
    import json

    try:
        payload = hint.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        aud = claims.get("aud")
        client_id = aud[0] if isinstance(aud, list) and aud else aud
    except (IndexError, ValueError, AttributeError):
        return None
    return find_client(db, client_id) if isinstance(client_id, str) else None


def session_ended(svc: OAuthServices, db: Session, *, account_id: int, sid: str | None, now: datetime) -> int:
    """Queue a logout token for every client with a back-channel URI that holds a grant from
    this session, and revoke the session's online grants. Returns how many were queued."""
    account = db.get(Account, account_id)
    if account is None:
        return 0
    queued = 0
    seen: set[str] = set()
    for grant in active_grants_for_session(db, account_id=account_id, sid=sid):
        client = find_client(db, grant.client_id)
        if client is not None and client.row.backchannel_logout_uri and client.client_id not in seen:
            seen.add(client.client_id)
            token = logout_token(svc, client, account, grant.sid, now)
            db.add(
                LogoutDelivery(
                    client_id=client.client_id,
                    account_id=account_id,
                    sid=grant.sid,
                    logout_token=token,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            queued += 1
        if "offline_access" not in grant.scope.split():
            revoke_grant(db, grant.grant_id, now=now)
    return queued


def logout_token(svc: OAuthServices, client: RegisteredClient, account: Account, sid: str | None, now: datetime) -> str:
    """Back-Channel Logout §2.4: iss, aud, iat, exp, jti, events, sub and/or sid; never a nonce."""
    claims: dict[str, object] = {
        "iss": svc.config.issuer,
        "aud": client.client_id,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=2)).timestamp()),
        "jti": token_urlsafe(svc.rng, 16),
        "events": {EVENT: {}},
        "sub": subject_for(account, client, salt=svc.subject_salt),
    }
    if sid:
        claims["sid"] = sid
    key = svc.keys.signing_key(svc.config.signing_alg)
    return key.sign_jwt({"typ": "logout+jwt"}, claims)


def deliver_due(svc: OAuthServices, db: Session, post: Poster, *, now: datetime, limit: int = 50) -> dict[str, int]:
    """Deliver queued logout tokens; failures retry with exponential back-off (10 s, 20 s, ... up to 1 h),
    at most ``MAX_ATTEMPTS`` times. Every attempt is recorded on the row. A destination the outbound
    policy refuses (issue 12 hole 6) is given up at once: the same address would be refused again."""
    stmt = (
        select(LogoutDelivery)
        .where(col(LogoutDelivery.delivered_at).is_(None))
        .where(col(LogoutDelivery.attempts) < MAX_ATTEMPTS)
        .where(col(LogoutDelivery.next_attempt_at) <= now)
        .order_by(col(LogoutDelivery.next_attempt_at))
        .limit(limit)
    )
    counts = {"delivered": 0, "failed": 0}
    for row in db.exec(stmt).all():
        client = find_client(db, row.client_id)
        uri = client.row.backchannel_logout_uri if client else None
        row.attempts += 1
        try:
            if uri is None:
                raise RuntimeError("client has no back-channel logout URI any more")
            status = post(uri, row.logout_token)
            if status not in (200, 204):
                raise RuntimeError(f"HTTP {status}")
            row.delivered_at, row.last_error = now, None
            counts["delivered"] += 1
        except OutboundRefused as refused:
            row.last_error, row.attempts = str(refused)[:300], MAX_ATTEMPTS
            counts["failed"] += 1
            log.warning("back-channel logout to %s not sent: %s", row.client_id, row.last_error)
        except Exception as exc:  # any other failure is recorded and retried
            row.last_error = str(exc)[:300]
            row.next_attempt_at = now + min(FIRST_RETRY * (2 ** (row.attempts - 1)), MAX_RETRY)
            counts["failed"] += 1
            log.warning(
                "back-channel logout to %s failed (attempt %d): %s", row.client_id, row.attempts, row.last_error
            )
        db.add(row)
    return counts


class HttpPoster:
    """Posts logout tokens through the outbound policy (common/outbound.py): checked destination,
    no redirects, bounded time and size. Raises :class:`OutboundRefused` for a forbidden one."""

    def __init__(self, policy: OutboundPolicy | None = None) -> None:
        self._http = client(policy or OutboundPolicy())

    def __call__(self, uri: str, logout_token: str) -> int:
        return self._http.post(uri, data={"logout_token": logout_token}).status_code


def deliver_now(svc: OAuthServices, post: Poster) -> dict[str, int]:
    """Deliver whatever is due, in its own transaction (used after a sign-out and by the retry loop)."""
    with Session(svc.engine, expire_on_commit=False) as db:
        counts = deliver_due(svc, db, post, now=svc.clock())
        db.commit()
    return counts
