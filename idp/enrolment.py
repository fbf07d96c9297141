"""Enrolment of second factors: TOTP by QR code with recovery codes, and password change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from common.messages import message
from idp import audit, recovery, totp
from idp.audit import AuditEvents
from idp.models import Account
from idp.passwords import Passwords, check_password_policy
from idp.runtime import Randomness
from idp.secretbox import SecretBox
from idp.validation import FieldProblem


@dataclass(frozen=True)
class TotpOffer:
    """A secret offered for enrolment; ``sealed`` is kept server-side until confirmed."""

    secret: str
    sealed: str
    uri: str
    qr_svg: str


def offer_totp(*, account: Account, box: SecretBox, rng: Randomness) -> TotpOffer:
    secret = totp.new_secret(rng)
    uri = totp.provisioning_uri(secret, account_name=account.username)
    return TotpOffer(secret=secret, sealed=box.seal(secret.encode()), uri=uri, qr_svg=totp.qr_svg(uri))


def reopen_offer(*, account: Account, sealed: str, box: SecretBox) -> TotpOffer:
    secret = box.open(sealed).decode()
    uri = totp.provisioning_uri(secret, account_name=account.username)
    return TotpOffer(secret=secret, sealed=sealed, uri=uri, qr_svg=totp.qr_svg(uri))


def confirm_totp(
    *,
    session: Session,
    account: Account,
    sealed: str,
    code: str,
    box: SecretBox,
    rng: Randomness,
    now: datetime,
    ip: str | None,
) -> list[str]:
    """Store the secret once the user proves their app shows the right code; return new recovery codes.

    The confirming code's step is recorded, so the same code cannot then sign in (RFC 6238 §5.2).
    """
    assert account.id is not None
    secret = box.open(sealed).decode()
    match = totp.verify(secret, code, now=now, last_step=None)
    if match is None:
        raise FieldProblem("otp", message("field.otp_wrong"))
    account.totp_secret_enc = sealed
    account.totp_last_step = match.step
    session.add(account)
    codes = recovery.replace_codes(session=session, account_id=account.id, rng=rng)
    audit.record(
        session=session,
        event=AuditEvents.TOTP_ENROLLED,
        outcome="success",
        now=now,
        account_id=account.id,
        subject=account.username,
        ip=ip,
    )
    return codes


def enrol_totp_directly(*, session: Session, account: Account, box: SecretBox, rng: Randomness) -> str:
    """Operator/CLI path (demo accounts): enrol a fresh secret and return it to print once."""
    secret = totp.new_secret(rng)
    account.totp_secret_enc = box.seal(secret.encode())
    account.totp_last_step = None
    session.add(account)
    return secret


def change_password(
    *,
    session: Session,
    account: Account,
    current: str,
    new: str,
    passwords: Passwords,
    now: datetime,
    ip: str | None,
) -> None:
    if not passwords.verify(account.password_hash, current[:256]):
        audit.record(
            session=session,
            event=AuditEvents.PASSWORD_CHANGED,
            outcome="failure",
            now=now,
            account_id=account.id,
            subject=account.username,
            ip=ip,
        )
        raise FieldProblem("current_password", message("field.current_password_wrong"))
    check_password_policy(new, username=account.username)
    account.password_hash = passwords.hash(new)
    account.password_changed_at = now
    session.add(account)
    audit.record(
        session=session,
        event=AuditEvents.PASSWORD_CHANGED,
        outcome="success",
        now=now,
        account_id=account.id,
        subject=account.username,
        ip=ip,
    )
