"""Building the technician data a decision allows: only fields of allowed groups, work history
limited to the sites the decision names, and the company's contact when substitution is on (rule 3)."""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from consent.groups import FIELD_GROUP
from consent.ports import Decision
from idp.models import Employer, Technician
from idp.public import affiliation_history, find_employer
from register.models import Site, TechnicianRecord
from register.repository import work_history

LEVEL_COLOURS = {1: ("白", "white"), 2: ("青", "blue"), 3: ("銀", "silver"), 4: ("金", "gold")}


def full_record(session: Session, technician: Technician, *, today: date) -> dict[str, Any]:
    """Every field of the record, keyed as in ``consent.groups.FIELD_GROUP``."""
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
    level_ja, level_en = LEVEL_COLOURS.get(record.level, ("", ""))
    return {
        "technician_id": technician.technician_id,
        "name": technician.name,
        "name_kana": technician.name_kana,
        "gender": technician.gender,
        "birth_date": technician.birth_date.isoformat(),
        "address": technician.address,
        "phone": technician.phone,
        "face_photo": photo,
        "current_employer": (
            {
                "employer_id": current[0][1].employer_id,
                "trade_name": current[0][1].trade_name,
                "since": current[0][0].start_date.isoformat(),
            }
            if current
            else None
        ),
        "past_employers": [
            {
                "employer_id": e.employer_id,
                "trade_name": e.trade_name,
                "from": a.start_date.isoformat(),
                "to": a.end_date.isoformat() if a.end_date else None,
            }
            for a, e in past
        ],
        "health_insurance": record.health_insurance,
        "pension_insurance": record.pension_insurance,
        "employment_insurance": record.employment_insurance,
        "kentaikyo": record.kentaikyo,
        "qualifications": list(record.qualifications),
        "education": list(record.education),
        "training": list(record.training),
        "awards": list(record.awards),
        "work_history": None,  # filled by ``disclose`` with the decision's site scope
        "level": {"level": record.level, "colour": level_en, "colour_ja": level_ja},
        "occupations": list(record.occupations),
    }


def _history(session: Session, technician: Technician, sites: tuple[str, ...] | None) -> list[dict[str, Any]]:
    assert technician.id is not None
    site_pks = None
    if sites is not None:
        site_pks = [
            s.id for s in session.exec(select(Site).where(col(Site.site_id).in_(sites))).all() if s.id is not None
        ]
    out = []
    for work, site in work_history(session=session, technician_pk=technician.id, site_pks=site_pks):
        employer = session.get(Employer, work.employer_pk)
        out.append(
            {
                "date": work.work_date.isoformat(),
                "site_id": site.site_id,
                "site_name": site.name,
                "entry_at": work.entry_at.isoformat() if work.entry_at else None,
                "exit_at": work.exit_at.isoformat() if work.exit_at else None,
                "employer_id": employer.employer_id if employer else None,
                "tier": work.tier,
                "tier_companies": list(work.tier_companies),
                "role": work.role,
                "work_content": work.work_content,
                "occupation": work.occupation,
            }
        )
    return out


def disclose(session: Session, technician: Technician, decision: Decision, *, today: date) -> dict[str, Any]:
    """The allowed fields only; nothing of a denied group leaves."""
    record = full_record(session, technician, today=today)
    data = {field: value for field, value in record.items() if FIELD_GROUP[field] in decision.allowed}
    if "work_history" in data:
        data["work_history"] = _history(session, technician, decision.work_history_sites)
    if decision.contact_substituted and ("address" in data or "phone" in data):
        current = record["current_employer"]
        employer = find_employer(session=session, employer_id=current["employer_id"]) if current else None
        if employer is not None:
            data["address"], data["phone"] = employer.address, employer.phone
            data["contact_is_company"] = True
    return data
