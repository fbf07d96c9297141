"""The sign-in procedure: password, then a second factor (TOTP or a recovery code), or a passkey.

Web pages and benchmarks drive this; it decides, the caller renders. Every outcome is
audited and failures feed the throttle (issue 2, item 6), keyed by the browser's known-device
cookie when it has one for the account, so strangers' failures never block the owner's own
device (NIST SP 800-63B §5.2.2; issue 12 hole 4; idp/throttle.py).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import Session, col

from idp import audit, recovery, totp
from idp.accounts import find_login_account
from idp.audit import AuditEvents
from idp.known_devices import KnownDevices
from idp.models import Account
from idp.passwords import Passwords
from idp.runtime import Clock, IdpConfig, Randomness
from idp.secretbox import SecretBox
from idp.sessions import ACR_AAL2, Authentication, SessionStore
from idp.throttle import Throttler, ThrottleSubject
from idp.validation import normalise_username

PASSWORD_AND_OTP = Authentication(amr=("pwd", "otp", "mfa"), acr=ACR_AAL2)
STEP_OTP = "otp"
STEP_ENROL = "enrol"


class Outcome(enum.Enum):
    THROTTLED = "throttled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    NEXT_STEP = "next_step"
    SIGNED_IN = "signed_in"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    session_token: str | None = None
    step: str | None = None
    retry_after: int = 0
    account_id: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class SignIn:
    config: IdpConfig
    passwords: Passwords
    throttle: Throttler
    sessions: SessionStore
    totp_box: SecretBox
    clock: Clock
    rng: Randomness
    devices: KnownDevices

    def _subject(self, account: Account | None, username: str, ip: str, device_cookie: str | None) -> ThrottleSubject:
        """The account's own name when it exists (every login name of it counts alike), else the name tried."""
        if account is None or account.id is None:
            return ThrottleSubject(username=normalise_username(username)[:80], ip=ip)
        device = self.devices.device_for(device_cookie, account_id=account.id, now=self.clock())
        return ThrottleSubject(username=account.username, ip=ip, device=device)

    def password(
        self,
        db: Session,
        *,
        username: str,
        password: str,
        ip: str,
        user_agent: str | None,
        device_cookie: str | None = None,
    ) -> Result:
        """First step. Unknown users cost the same argon2 work as known ones (no enumeration).
        ``device_cookie``: the browser's known-device cookie (idp/known_devices.py), if any."""
        now = self.clock()
        account = find_login_account(session=db, username=username)
        subject = self._subject(account, username, ip, device_cookie)
        wait = self.throttle.check(session=db, subject=subject, now=now)
        if wait.seconds:
            return _throttled(db, subject, ip, now, wait.advertised)
        ok = self.passwords.verify(account.password_hash if account else None, password[:256])
        if not ok or account is None or account.id is None:
            self.throttle.record_failure(session=db, subject=subject, now=now)
            audit.record(
                session=db,
                event=AuditEvents.SIGNIN_PASSWORD,
                outcome="failure",
                now=now,
                account_id=account.id if account else None,
                subject=subject.username,
                ip=ip,
            )
            db.commit()
            return Result(Outcome.REJECTED)
        if self.passwords.needs_rehash(account.password_hash):
            account.password_hash = self.passwords.hash(password)
            db.add(account)
        step = STEP_OTP if account.totp_secret_enc else STEP_ENROL
        token = self.sessions.start_pending(
            session=db,
            account_id=account.id,
            now=now,
            ip=ip,
            user_agent=user_agent,
            data={"step": step, "username": subject.username},
        )
        audit.record(
            session=db,
            event=AuditEvents.SIGNIN_PASSWORD,
            outcome="success",
            now=now,
            account_id=account.id,
            subject=subject.username,
            ip=ip,
            detail={"next": step},
        )
        db.commit()
        return Result(Outcome.NEXT_STEP, session_token=token, step=step, account_id=account.id)

    def _pending_account(self, db: Session, token: str | None, step: str, now: datetime) -> Account | None:
        pending = self.sessions.load(session=db, raw=token, now=now, state="pending")
        if pending is None or pending.data.get("step") != step or pending.account_id is None:
            return None
        return db.get(Account, pending.account_id)

    def second_factor(
        self,
        db: Session,
        *,
        pending_token: str | None,
        otp: str,
        ip: str,
        user_agent: str | None,
        recovery_code: bool = False,
        device_cookie: str | None = None,
    ) -> Result:
        """Second step: a TOTP code (replay refused) or a one-time recovery code."""
        now = self.clock()
        account = self._pending_account(db, pending_token, STEP_OTP, now)
        if account is None or account.id is None or pending_token is None:
            return Result(Outcome.EXPIRED)
        subject = self._subject(account, account.username, ip, device_cookie)
        wait = self.throttle.check(session=db, subject=subject, now=now)
        if wait.seconds:
            return Result(Outcome.THROTTLED, retry_after=wait.advertised)
        event = AuditEvents.SIGNIN_RECOVERY_CODE if recovery_code else AuditEvents.SIGNIN_SECOND_FACTOR
        if recovery_code:
            ok = recovery.use_code(session=db, account_id=account.id, code=otp[:64], now=now)
        else:
            ok = self._check_totp(db, account, otp[:16], now)
        if not ok:
            db.rollback()
            self.throttle.record_failure(session=db, subject=subject, now=now)
            audit.record(
                session=db,
                event=event,
                outcome="failure",
                now=now,
                account_id=account.id,
                subject=account.username,
                ip=ip,
            )
            db.commit()
            return Result(Outcome.REJECTED)
        self.throttle.record_success(session=db, subject=subject)
        token = self.sessions.activate(
            session=db,
            account_id=account.id,
            auth=PASSWORD_AND_OTP,
            now=now,
            ip=ip,
            user_agent=user_agent,
            replaces=pending_token,
        )
        audit.record(
            session=db, event=event, outcome="success", now=now, account_id=account.id, subject=account.username, ip=ip
        )
        db.commit()
        return Result(Outcome.SIGNED_IN, session_token=token, account_id=account.id)

    def _check_totp(self, db: Session, account: Account, code: str, now: datetime) -> bool:
        """RFC 6238 §5.2: a code is accepted once; the step is claimed with a conditional update
        so two requests racing with the same code cannot both win."""
        if not account.totp_secret_enc or account.id is None:
            return False
        secret = self.totp_box.open(account.totp_secret_enc).decode()
        match = totp.verify(secret, code, now=now, last_step=account.totp_last_step)
        if match is None:
            return False
        return claim_totp_step(db, account_id=account.id, step=match.step)

    def enrolment_account(self, db: Session, *, pending_token: str | None) -> Account | None:
        """The account whose password was right but who still has to enrol a second factor."""
        return self._pending_account(db, pending_token, STEP_ENROL, self.clock())


def _throttled(db: Session, subject: ThrottleSubject, ip: str, now: datetime, retry_after: int) -> Result:
    """A sign-in refused while its subject is throttled (idp/throttle.py): audited, nothing else changes."""
    audit.record(
        session=db,
        event=AuditEvents.SIGNIN_THROTTLED,
        outcome="refused",
        now=now,
        subject=subject.username,
        ip=ip,
    )
    db.commit()
    return Result(Outcome.THROTTLED, retry_after=retry_after)


def claim_totp_step(db: Session, *, account_id: int, step: int) -> bool:
    result = db.execute(
        update(Account)
        .where(col(Account.id) == account_id)
        .where(or_(col(Account.totp_last_step).is_(None), col(Account.totp_last_step) < step))
        .values(totp_last_step=step)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
