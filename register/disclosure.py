"""Building the technician data a decision allows: only the sections of allowed groups
(``register.record_view``), work history limited to the sites the decision names, and the company's
contact when substitution is on (rule 3)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from consent.groups import FieldGroup
from consent.ports import Decision
from idp.models import Affiliation, Employer, Technician
from idp.public import affiliation_history, find_employer
from register.models import Site, TechnicianRecord
from register.record_view import (
    BirthDate,
    Contact,
    CurrentAffiliation,
    EducationTraining,
    Employment,
    FacePhoto,
    FullRecord,
    Identity,
    LevelOccupation,
    PastAffiliations,
    PastEmployment,
    Qualifications,
    SocialInsurance,
    TechnicianRecordView,
    WorkDay,
    WorkHistory,
)
from register.repository import work_history


@dataclass(frozen=True)
class StoredRecord:
    """What the register holds about one technician but the work history: the technician, the record
    details (None when none were entered) and the affiliations, latest first (as
    ``idp.public.affiliation_history``), with their companies."""

    technician: Technician
    details: TechnicianRecord | None
    history: list[tuple[Affiliation, Employer]]


def stored_record_of_account(
    session: Session, account_id: int, *also: ColumnElement[Any]
) -> tuple[StoredRecord | None, tuple[Any, ...]]:
    """The account's technician with his record details and affiliations in one statement (issue 14:
    userinfo reads them together), and the values of ``also`` (scalar subqueries about something
    else the caller needs from the same round trip); ``(None, values)`` for an account that is not
    a technician's. One row per affiliation (at least one)."""
    stmt = (
        select(Technician, TechnicianRecord, Affiliation, Employer, *also)
        .outerjoin(TechnicianRecord, col(TechnicianRecord.technician_pk) == Technician.id)
        .outerjoin(Affiliation, col(Affiliation.technician_pk) == Technician.id)
        .outerjoin(Employer, col(Employer.id) == Affiliation.employer_pk)
        .where(col(Technician.account_id) == account_id)
        .order_by(col(Affiliation.start_date).desc())
    )
    rows = session.exec(stmt).all()
    if not rows:
        values = session.exec(select(*also)).one() if also else ()
        return None, tuple(values)
    history = [(a, e) for _, _, a, e, *_ in rows if a is not None and e is not None]
    return StoredRecord(rows[0][0], rows[0][1], history), tuple(rows[0][4:])


def full_record(
    session: Session, technician: Technician, *, today: date, stored: StoredRecord | None = None
) -> FullRecord:
    """Every group of the record but the work history, as the register holds it ``today`` (or as
    ``stored`` read it, for the same technician, in this request)."""
    assert technician.id is not None
    if stored is not None and stored.technician is technician:
        details, history = stored.details, stored.history
    else:
        details = session.get(TechnicianRecord, technician.id)
        history = affiliation_history(session=session, technician_pk=technician.id)
    record = details or TechnicianRecord(technician_pk=technician.id, updated_at=datetime.now())
    current = [(a, e) for a, e in history if a.start_date <= today and (a.end_date is None or a.end_date >= today)]
    past = [(a, e) for a, e in history if (a, e) not in current]
    photo = None
    if technician.face_photo:
        photo = f"data:{technician.face_photo_type};base64," + base64.b64encode(technician.face_photo).decode()
    return FullRecord(
        identity=Identity(
            technician_id=technician.technician_id,
            name=technician.name,
            name_kana=technician.name_kana,
            gender=technician.gender,
        ),
        birth_date=BirthDate(technician.birth_date),
        contact=Contact(address=technician.address, phone=technician.phone),
        face_photo=FacePhoto(photo),
        current_affiliation=CurrentAffiliation(
            Employment(current[0][1].employer_id, current[0][1].trade_name, current[0][0].start_date)
            if current
            else None
        ),
        past_affiliations=PastAffiliations(
            tuple(PastEmployment(e.employer_id, e.trade_name, a.start_date, a.end_date) for a, e in past)
        ),
        social_insurance=SocialInsurance(
            health_insurance=record.health_insurance,
            pension_insurance=record.pension_insurance,
            employment_insurance=record.employment_insurance,
            kentaikyo=record.kentaikyo,
        ),
        qualifications=Qualifications(tuple(record.qualifications)),
        education_training=EducationTraining(tuple(record.education), tuple(record.training), tuple(record.awards)),
        level_occupation=LevelOccupation(record.level, tuple(record.occupations)),
    )


def _history(session: Session, technician: Technician, sites: tuple[str, ...] | None) -> WorkHistory:
    assert technician.id is not None
    site_pks = None
    if sites is not None:
        site_pks = [
            s.id for s in session.exec(select(Site).where(col(Site.site_id).in_(sites))).all() if s.id is not None
        ]
    days = []
    for work, site in work_history(session=session, technician_pk=technician.id, site_pks=site_pks):
        employer = session.get(Employer, work.employer_pk)
        days.append(
            WorkDay(
                day=work.work_date,
                site_id=site.site_id,
                site_name=site.name,
                entry_at=work.entry_at,
                exit_at=work.exit_at,
                employer_id=employer.employer_id if employer else None,
                tier=work.tier,
                tier_companies=tuple(work.tier_companies),
                role=work.role,
                work_content=work.work_content,
                occupation=work.occupation,
            )
        )
    return WorkHistory(tuple(days))


def _company_contact(session: Session, record: FullRecord) -> Contact | None:
    """Rule 3: the current employer's address and phone, when there is a current employer."""
    current = record.current_affiliation.employer
    employer = find_employer(session=session, employer_id=current.employer_id) if current else None
    return Contact(address=employer.address, phone=employer.phone, is_company=True) if employer else None


def disclose(
    session: Session, technician: Technician, decision: Decision, *, today: date, stored: StoredRecord | None = None
) -> TechnicianRecordView:
    """The allowed groups only; nothing of a denied group leaves. ``stored``: the technician's record
    as already read in this request (``stored_record_of_account``)."""
    record = full_record(session, technician, today=today, stored=stored)
    allowed = decision.allowed
    history = _history(session, technician, decision.work_history_sites) if FieldGroup.work_history in allowed else None
    contact = None
    if decision.contact_substituted and FieldGroup.contact in allowed:
        contact = _company_contact(session, record)
    return record.release(allowed, work_history=history, contact=contact)
