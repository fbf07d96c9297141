"""Security audit events: sign-in success and failure, enrolment, password change, sign-out.

Events are rows in ``auditevent`` and lines on the ``genba.audit`` logger. A detail key that
looks like a secret is refused outright, so no password, code or token can reach a log.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from idp.models import AuditEvent

log = logging.getLogger("genba.audit")

FORBIDDEN_DETAIL_WORDS = ("password", "otp", "secret", "token", "code", "cookie", "credential")


class AuditEvents:
    SIGNIN_PASSWORD = "signin.password"  # noqa: S105 - an event name
    SIGNIN_SECOND_FACTOR = "signin.second_factor"
    SIGNIN_RECOVERY_CODE = "signin.recovery_code"
    SIGNIN_PASSKEY = "signin.passkey"
    SIGNIN_THROTTLED = "signin.throttled"
    SIGNOUT = "signout"
    SIGNOUT_EVERYWHERE = "signout.everywhere"
    TOTP_ENROLLED = "enrol.totp"
    PASSKEY_ENROLLED = "enrol.passkey"
    PASSKEY_REMOVED = "passkey.removed"
    RECOVERY_CODES_REPLACED = "enrol.recovery_codes"
    PASSWORD_CHANGED = "password.changed"  # noqa: S105 - an event name
    ACCOUNT_CREATED = "account.created"


def record(
    *,
    session: Session,
    event: str,
    outcome: str,
    now: datetime,
    account_id: int | None = None,
    subject: str | None = None,
    ip: str | None = None,
    detail: dict[str, str] | None = None,
) -> None:
    detail = dict(detail or {})
    for key in detail:
        if any(word in key.lower() for word in FORBIDDEN_DETAIL_WORDS):
            raise ValueError(f"audit detail key {key!r} could carry a secret")
    session.add(
        AuditEvent(
            at=now,
            event=event,
            outcome=outcome,
            account_id=account_id,
            subject=(subject or "")[:80] or None,
            ip=ip,
            detail=detail,
        )
    )
    log.info(
        "audit %s %s",
        event,
        outcome,
        extra={"audit": {"event": event, "outcome": outcome, "account_id": account_id, "ip": ip, **detail}},
    )
