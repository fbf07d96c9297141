"""Server-side browser sessions.

The cookie holds 256 random bits; the database keeps only their SHA-256, so a copy of the
table cannot be replayed as cookies. A new id is issued at every sign-in step (OWASP Session
Management: renew the id after any privilege change), sessions expire after an idle period
and an absolute lifetime, and can be revoked one by one or all at once (sign-out everywhere).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from idp.models import WebSession
from idp.runtime import IdpConfig, Randomness, token_urlsafe

PENDING = "pending"
ACTIVE = "active"
# Touch ``last_seen_at`` at most this often, to keep writes off every page view.
TOUCH_EVERY = timedelta(seconds=60)


def hash_id(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Authentication:
    """What a completed sign-in proved: methods (RFC 8176 ``amr``) and assurance (``acr``)."""

    amr: tuple[str, ...]
    acr: str


ACR_AAL2 = "urn:genba:acr:aal2"  # two factors (password + TOTP/recovery code), or a synced passkey
ACR_AAL3 = "urn:genba:acr:aal3"  # device-bound passkey with user verification: phishing-resistant


class SessionStore:
    def __init__(self, config: IdpConfig, rng: Randomness) -> None:
        self._config = config
        self._rng = rng

    def start_pending(
        self,
        *,
        session: Session,
        account_id: int | None,
        now: datetime,
        ip: str | None,
        user_agent: str | None,
        data: dict[str, str],
    ) -> str:
        """A short-lived session between sign-in steps (password done, second factor due)."""
        raw = token_urlsafe(self._rng, 32)
        session.add(
            WebSession(
                id_hash=hash_id(raw),
                account_id=account_id,
                state=PENDING,
                created_at=now,
                last_seen_at=now,
                expires_at=now + self._config.login_transaction,
                ip=ip,
                user_agent=(user_agent or "")[:300] or None,
                data=data,
            )
        )
        return raw

    def activate(
        self,
        *,
        session: Session,
        account_id: int,
        auth: Authentication,
        now: datetime,
        ip: str | None,
        user_agent: str | None,
        replaces: str | None = None,
    ) -> str:
        """Create a signed-in session with a fresh id; the pre-sign-in session is deleted."""
        if replaces:
            old = session.get(WebSession, hash_id(replaces))
            if old is not None:
                session.delete(old)
        raw = token_urlsafe(self._rng, 32)
        session.add(
            WebSession(
                id_hash=hash_id(raw),
                account_id=account_id,
                state=ACTIVE,
                sid=token_urlsafe(self._rng, 16),
                created_at=now,
                last_seen_at=now,
                expires_at=now + self._config.session_absolute,
                auth_time=now,
                amr=list(auth.amr),
                acr=auth.acr,
                ip=ip,
                user_agent=(user_agent or "")[:300] or None,
            )
        )
        return raw

    def load(self, *, session: Session, raw: str | None, now: datetime, state: str = ACTIVE) -> WebSession | None:
        """The live session for this cookie value, or ``None`` if unknown, revoked, idle or expired."""
        if not raw or len(raw) > 100:
            return None
        row = session.get(WebSession, hash_id(raw))
        if row is None or row.state != state or row.revoked_at is not None or row.expires_at <= now:
            return None
        if state == ACTIVE and now - row.last_seen_at > self._config.session_idle:
            return None
        if state == ACTIVE and now - row.last_seen_at > TOUCH_EVERY:
            row.last_seen_at = now
            session.add(row)
        return row

    def ended_by_time(self, *, session: Session, raw: str | None, now: datetime) -> bool:
        """Whether this cookie names a session that ended by itself — idle too long or past its lifetime,
        or no longer stored (purged after it ended) — rather than a live, pending or signed-out one: the
        sign-in page then says why it is shown (issue 15, Broken 3)."""
        if not raw or len(raw) > 100:
            return False
        row = session.get(WebSession, hash_id(raw))
        if row is None:
            return True
        if row.revoked_at is not None:
            return False
        if row.expires_at <= now:
            return True
        return row.state == ACTIVE and now - row.last_seen_at > self._config.session_idle

    def revoke(self, *, session: Session, raw: str, now: datetime) -> None:
        row = session.get(WebSession, hash_id(raw))
        if row is not None and row.revoked_at is None:
            row.revoked_at = now
            session.add(row)

    def revoke_all(self, *, session: Session, account_id: int, now: datetime) -> int:
        result = session.execute(
            update(WebSession)
            .where(col(WebSession.account_id) == account_id)
            .where(col(WebSession.revoked_at).is_(None))
            .values(revoked_at=now)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def revoke_others(self, *, session: Session, account_id: int, keep: str, now: datetime) -> list[str | None]:
        """End every session of the account but the one whose cookie is ``keep``; the ``sid`` of each
        ended one is returned for back-channel logout. After a password change (issue 12 item 8; OWASP
        Session Management Cheat Sheet, "Renew the session ID after any privilege level change"; NIST
        SP 800-63B §7.1: sessions are ended when the authenticator they rest on is replaced)."""
        rows = session.exec(
            select(WebSession)
            .where(col(WebSession.account_id) == account_id)
            .where(col(WebSession.revoked_at).is_(None))
            .where(col(WebSession.id_hash) != hash_id(keep))
        ).all()
        for row in rows:
            row.revoked_at = now
            session.add(row)
        return [row.sid for row in rows]

    def list_active(self, *, session: Session, account_id: int, now: datetime) -> list[WebSession]:
        stmt = (
            select(WebSession)
            .where(col(WebSession.account_id) == account_id)
            .where(col(WebSession.state) == ACTIVE)
            .where(col(WebSession.revoked_at).is_(None))
            .where(col(WebSession.expires_at) > now)
            .where(col(WebSession.last_seen_at) > now - self._config.session_idle)
            .order_by(col(WebSession.created_at).desc())
        )
        return list(session.exec(stmt).all())
