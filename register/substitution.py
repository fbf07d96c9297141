"""Rule 3 (docs/domain.md): the employer may publish the company's address and phone instead of a
technician's (anti-poaching, issue 12 item 11).

The employer sets a default for all its technicians (``Employer.contact_substitution``) and may
override it for one technician (``Affiliation.contact_substitution``; ``None`` follows the default).
The override belongs to the affiliation: a technician who moves to another employer starts with the
new employer's default. The consent engine reads the effective value through the directory
(``register.directory``) and ``register.disclosure.disclose`` swaps the contact fields, wherever they
leave (data API, roster, userinfo, ID token). Only an administrator of that employer changes it
(the employer page and the data API check it); the operator's CLI may too. Each change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from common.messages import message
from idp.models import Affiliation, Employer, Technician
from idp.public import FieldProblem, normalise_14_digit_id, record_audit_event

EVENT = "employer.contact_substitution"


@dataclass(frozen=True)
class TechnicianSetting:
    technician_id: str
    name: str
    #: ``None``: follows the employer's default
    override: bool | None
    effective: bool


def effective(employer: Employer, affiliation: Affiliation | None) -> bool:
    """Whether the company's contact is published for the technician of ``affiliation``."""
    return effective_value(employer.contact_substitution, affiliation.contact_substitution if affiliation else None)


def effective_value(default: bool, override: bool | None) -> bool:
    """The employer's ``default`` unless the affiliation's ``override`` says otherwise."""
    return default if override is None else override


def _current(session: Session, employer: Employer, today: date) -> list[tuple[Affiliation, Technician]]:
    stmt = (
        select(Affiliation, Technician)
        .where(col(Affiliation.technician_pk) == Technician.id)
        .where(col(Affiliation.employer_pk) == employer.id)
        .where(col(Affiliation.start_date) <= today)
        .where((col(Affiliation.end_date).is_(None)) | (col(Affiliation.end_date) >= today))
        .order_by(col(Technician.technician_id))
    )
    return [(a, t) for a, t in session.exec(stmt).all()]


def settings_of(*, session: Session, employer: Employer, today: date) -> list[TechnicianSetting]:
    """The setting for each technician who works for ``employer`` on ``today``."""
    return [
        TechnicianSetting(t.technician_id, t.name, a.contact_substitution, effective(employer, a))
        for a, t in _current(session, employer, today)
    ]


def employer_or_fail(session: Session, employer_id: str) -> Employer:
    eid = normalise_14_digit_id(employer_id, field="employer_id")
    employer = session.exec(select(Employer).where(col(Employer.employer_id) == eid)).first()
    if employer is None or employer.id is None:
        raise FieldProblem("employer_id", message("field.unknown_employer"))
    return employer


def set_default(*, session: Session, employer: Employer, on: bool, now: datetime, account_id: int | None) -> None:
    """The default for all the employer's technicians (those without an override)."""
    employer.contact_substitution = on
    session.add(employer)
    record_audit_event(
        session=session,
        event=EVENT,
        outcome="on" if on else "off",
        now=now,
        account_id=account_id,
        detail={"employer_id": employer.employer_id, "scope": "default"},
    )


def set_for_technician(
    *,
    session: Session,
    employer: Employer,
    technician_id: str,
    on: bool | None,
    today: date,
    now: datetime,
    account_id: int | None,
) -> TechnicianSetting:
    """Override the default for one technician who works for ``employer`` now (``None``: follow it).
    A technician of another employer, or a former one, is refused as unknown."""
    tid = normalise_14_digit_id(technician_id, field="technician_id")
    found = [(a, t) for a, t in _current(session, employer, today) if t.technician_id == tid]
    if not found:
        raise FieldProblem(
            "technician_id",
            message("field.not_current_technician"),
        )
    affiliation, technician = found[0]
    affiliation.contact_substitution = on
    session.add(affiliation)
    record_audit_event(
        session=session,
        event=EVENT,
        outcome="default" if on is None else ("on" if on else "off"),
        now=now,
        account_id=account_id,
        detail={"employer_id": employer.employer_id, "scope": "technician", "technician_id": tid},
    )
    return TechnicianSetting(tid, technician.name, on, effective(employer, affiliation))
