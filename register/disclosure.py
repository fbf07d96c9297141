"""Building the technician data a decision allows: only the sections of allowed groups
(``register.record_view``), work history limited to the sites the decision names, and the company's
contact when substitution is on (rule 3)."""

from __future__ import annotations

import base64
from datetime import date, datetime

from sqlmodel import Session, col, select

from consent.groups import FieldGroup
from consent.ports import Decision
from idp.models import Employer, Technician
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


def full_record(session: Session, technician: Technician, *, today: date) -> FullRecord:
    """Every group of the record but the work history, as the register holds it ``today``."""
    assert technician.id is not None
    record = session.get(TechnicianRecord, technician.id) or TechnicianRecord(
        technician_pk=technician.id, updated_at=datetime.now()
    )
    history = affiliation_history(session=session, technician_pk=technician.id)
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


def disclose(session: Session, technician: Technician, decision: Decision, *, today: date) -> TechnicianRecordView:
    """The allowed groups only; nothing of a denied group leaves."""
    record = full_record(session, technician, today=today)
    allowed = decision.allowed
    history = _history(session, technician, decision.work_history_sites) if FieldGroup.work_history in allowed else None
    contact = None
    if decision.contact_substituted and FieldGroup.contact in allowed:
        contact = _company_contact(session, record)
    return record.release(allowed, work_history=history, contact=contact)
