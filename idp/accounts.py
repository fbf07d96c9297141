"""Account repository: technicians, employers, staff, operators and affiliations.

Keyword-only functions that validate, normalise and add rows to the caller's session;
the caller commits once, so a failure anywhere leaves nothing half-created.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import event, inspect
from sqlmodel import Session, col, select

from common.messages import message
from idp.models import Account, AccountKind, Affiliation, Employer, EmployerStaff, Gender, StaffRole, Technician
from idp.passwords import Passwords, check_password_policy
from idp.runtime import Randomness, token_urlsafe
from idp.validation import (
    FieldProblem,
    clean_birth_date,
    clean_email,
    clean_kana,
    clean_phone,
    clean_staff_local,
    clean_text,
    normalise_14_digit_id,
    normalise_username,
)

MAX_PHOTO_BYTES = 2_000_000
PHOTO_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
IMMUTABLE_TECHNICIAN_FIELDS = ("birth_date", "face_photo", "face_photo_type")


class ImmutableFieldError(FieldProblem):
    pass


@event.listens_for(Technician, "before_update")
def _refuse_immutable_changes(mapper: Any, connection: Any, target: Technician) -> None:
    """生年月日 and 顔写真 cannot change after registration (docs/domain.md, facts about records).

    Enforced on every ORM update, whatever code path tries it; a photo may be added once
    if none was registered.
    """
    state = inspect(target)
    for name in IMMUTABLE_TECHNICIAN_FIELDS:
        history = state.attrs[name].history
        if history.has_changes() and history.deleted and history.deleted[0] is not None:
            raise ImmutableFieldError(name, message("field.immutable"))


def _photo_type(photo: bytes) -> str:
    if len(photo) > MAX_PHOTO_BYTES:
        raise FieldProblem("face_photo", message("field.photo_size"))
    for magic, mime in PHOTO_TYPES.items():
        if photo.startswith(magic):
            return mime
    raise FieldProblem("face_photo", message("field.photo_type"))


def _new_account(
    *,
    session: Session,
    kind: AccountKind,
    username: str,
    display_name: str,
    password: str,
    email: str | None,
    passwords: Passwords,
    rng: Randomness,
    now: datetime,
) -> Account:
    check_password_policy(password, username=username)
    if session.exec(select(Account.id).where(col(Account.username) == username)).first() is not None:
        raise FieldProblem("username", message("field.already_registered"))
    if email and session.exec(select(Account.id).where(col(Account.email) == email)).first() is not None:
        raise FieldProblem("email", message("field.already_registered"))
    account = Account(
        kind=kind.value,
        username=username,
        email=email,
        display_name=display_name,
        password_hash=passwords.hash(password),
        password_changed_at=now,
        webauthn_user_handle=rng.token_bytes(32),
        subject=token_urlsafe(rng, 16),
        created_at=now,
    )
    session.add(account)
    session.flush()
    return account


def create_employer(
    *,
    session: Session,
    employer_id: str,
    trade_name: str,
    address: str,
    phone: str,
    sole_proprietor: bool = False,
    now: datetime,
) -> Employer:
    eid = normalise_14_digit_id(employer_id, field="employer_id")
    if find_employer(session=session, employer_id=eid) is not None:
        raise FieldProblem("employer_id", message("field.already_registered"))
    employer = Employer(
        employer_id=eid,
        trade_name=clean_text(trade_name, field="trade_name", max_length=200),
        address=clean_text(address, field="address", max_length=300),
        phone=clean_phone(phone),
        sole_proprietor=sole_proprietor,
        created_at=now,
    )
    session.add(employer)
    session.flush()
    return employer


def create_technician(
    *,
    session: Session,
    technician_id: str,
    name: str,
    name_kana: str,
    birth_date: date,
    gender: str,
    address: str,
    phone: str,
    password: str,
    face_photo: bytes | None = None,
    passwords: Passwords,
    rng: Randomness,
    now: datetime,
) -> tuple[Account, Technician]:
    tid = normalise_14_digit_id(technician_id, field="technician_id")
    if session.exec(select(Technician.id).where(col(Technician.technician_id) == tid)).first() is not None:
        raise FieldProblem("technician_id", message("field.already_registered"))
    if gender not in Gender.__members__:
        raise FieldProblem("gender", message("field.gender"))
    clean_name = clean_text(name, field="name", max_length=100)
    kana = clean_kana(name_kana)
    born = clean_birth_date(birth_date, today=now.date())
    clean_address = clean_text(address, field="address", max_length=300)
    clean_tel = clean_phone(phone)
    photo_type = _photo_type(face_photo) if face_photo is not None else None
    account = _new_account(
        session=session,
        kind=AccountKind.technician,
        username=tid,
        display_name=clean_name,
        password=password,
        email=None,
        passwords=passwords,
        rng=rng,
        now=now,
    )
    assert account.id is not None
    technician = Technician(
        technician_id=tid,
        account_id=account.id,
        face_photo=face_photo,
        face_photo_type=photo_type,
        created_at=now,
        name=clean_name,
        name_kana=kana,
        birth_date=born,
        gender=gender,
        address=clean_address,
        phone=clean_tel,
    )
    session.add(technician)
    session.flush()
    return account, technician


def create_staff(
    *,
    session: Session,
    employer_id: str,
    login: str,
    display_name: str,
    role: str,
    password: str,
    email: str | None = None,
    passwords: Passwords,
    rng: Randomness,
    now: datetime,
) -> tuple[Account, EmployerStaff]:
    """Staff sign in as ``<事業者ID>-<login>`` (or by e-mail)."""
    employer = find_employer(session=session, employer_id=normalise_14_digit_id(employer_id, field="employer_id"))
    if employer is None or employer.id is None:
        raise FieldProblem("employer_id", message("field.unknown_employer"))
    if role not in StaffRole.__members__:
        raise FieldProblem("role", message("field.staff_role"))
    username = f"{employer.employer_id}-{clean_staff_local(login)}"
    account = _new_account(
        session=session,
        kind=AccountKind.staff,
        username=username,
        display_name=clean_text(display_name, field="display_name", max_length=100),
        password=password,
        email=clean_email(email) if email else None,
        passwords=passwords,
        rng=rng,
        now=now,
    )
    assert account.id is not None
    staff = EmployerStaff(account_id=account.id, employer_pk=employer.id, role=role)
    session.add(staff)
    session.flush()
    return account, staff


def create_operator(
    *,
    session: Session,
    login: str,
    display_name: str,
    password: str,
    email: str | None = None,
    passwords: Passwords,
    rng: Randomness,
    now: datetime,
) -> Account:
    username = clean_staff_local(login)
    if username[0].isdigit():
        raise FieldProblem("login", message("field.login_letter"))
    return _new_account(
        session=session,
        kind=AccountKind.operator,
        username=username,
        display_name=clean_text(display_name, field="display_name", max_length=100),
        password=password,
        email=clean_email(email) if email else None,
        passwords=passwords,
        rng=rng,
        now=now,
    )


def link_affiliation(
    *, session: Session, technician_id: str, employer_id: str, start_date: date, now: datetime
) -> Affiliation:
    """Affiliate a technician from ``start_date``; a current affiliation ends the day before.

    Rows are never deleted, so the history of employers is kept (past affiliations are a
    disclosure group of their own).
    """
    technician = find_technician(
        session=session, technician_id=normalise_14_digit_id(technician_id, field="technician_id")
    )
    employer = find_employer(session=session, employer_id=normalise_14_digit_id(employer_id, field="employer_id"))
    if technician is None or technician.id is None:
        raise FieldProblem("technician_id", message("field.unknown_technician"))
    if employer is None or employer.id is None:
        raise FieldProblem("employer_id", message("field.unknown_employer"))
    current = current_affiliation(session=session, technician_pk=technician.id)
    if current is not None:
        if current.employer_pk == employer.id:
            raise FieldProblem("employer_id", message("field.already_employer"))
        if start_date <= current.start_date:
            raise FieldProblem("start_date", message("field.start_after_current"))
        current.end_date = start_date - timedelta(days=1)
        session.add(current)
    affiliation = Affiliation(
        technician_pk=technician.id, employer_pk=employer.id, start_date=start_date, created_at=now
    )
    session.add(affiliation)
    session.flush()
    return affiliation


def end_affiliation(*, session: Session, technician_pk: int, end_date: date) -> Affiliation:
    current = current_affiliation(session=session, technician_pk=technician_pk)
    if current is None:
        raise FieldProblem("technician_id", message("field.no_affiliation"))
    if end_date < current.start_date:
        raise FieldProblem("end_date", message("field.end_before_start"))
    current.end_date = end_date
    session.add(current)
    return current


def current_affiliation(*, session: Session, technician_pk: int) -> Affiliation | None:
    stmt = (
        select(Affiliation)
        .where(col(Affiliation.technician_pk) == technician_pk)
        .where(col(Affiliation.end_date).is_(None))
    )
    return session.exec(stmt).first()


def affiliation_history(*, session: Session, technician_pk: int) -> list[tuple[Affiliation, Employer]]:
    stmt = (
        select(Affiliation, Employer)
        .where(col(Affiliation.employer_pk) == Employer.id)
        .where(col(Affiliation.technician_pk) == technician_pk)
        .order_by(col(Affiliation.start_date).desc())
    )
    return [(a, e) for a, e in session.exec(stmt).all()]


def find_employer(*, session: Session, employer_id: str) -> Employer | None:
    return session.exec(select(Employer).where(col(Employer.employer_id) == employer_id)).first()


def find_technician(*, session: Session, technician_id: str) -> Technician | None:
    return session.exec(select(Technician).where(col(Technician.technician_id) == technician_id)).first()


_TECHNICIAN_OF_ACCOUNT = "genba.technician_of_account"


def technician_for_account(*, session: Session, account_id: int) -> Technician | None:
    """The account's technician record. Remembered in the session (an account's technician never
    changes), so the several parts of one request that ask — userinfo's claims, the consent caller
    — cost one query; a record the session no longer holds (closed, deleted) is read again."""
    remembered: dict[int, Technician] = session.info.setdefault(_TECHNICIAN_OF_ACCOUNT, {})
    known = remembered.get(account_id)
    if known is not None and inspect(known).persistent and inspect(known).session is session:
        return known
    technician = session.exec(select(Technician).where(col(Technician.account_id) == account_id)).first()
    if technician is not None:
        remembered[account_id] = technician
    else:
        remembered.pop(account_id, None)
    return technician


def staff_for_account(*, session: Session, account_id: int) -> tuple[EmployerStaff, Employer] | None:
    stmt = (
        select(EmployerStaff, Employer)
        .where(col(EmployerStaff.employer_pk) == Employer.id)
        .where(col(EmployerStaff.account_id) == account_id)
    )
    row = session.exec(stmt).first()
    return (row[0], row[1]) if row else None


def find_login_account(*, session: Session, username: str) -> Account | None:
    """Resolve what was typed in ``username``: 技能者ID, ``<事業者ID>-<login>``, operator login or e-mail."""
    name = normalise_username(username)
    if not name:
        return None
    column = col(Account.email) if "@" in name else col(Account.username)
    account = session.exec(select(Account).where(column == name)).first()
    if account is None or account.disabled:
        return None
    return account
