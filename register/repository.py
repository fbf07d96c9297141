"""Repository for sites (現場), tiers (施工体制), assignments, work history (就業履歴) and technician
record details. Keyword-only functions; the caller commits."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol

from sqlmodel import Session, col, select

from common.japan_time import local_date
from common.messages import message
from idp.models import Employer, Technician
from idp.public import FieldProblem, clean_text, find_employer, find_technician
from register.models import Orderer, Site, SiteAssignment, SiteCompany, TechnicianRecord, WorkRecord

INSURANCE = ("enrolled", "exempt", "not_enrolled", "unknown")


def _employer(session: Session, employer_id: str) -> Employer:
    employer = find_employer(session=session, employer_id=employer_id)
    if employer is None or employer.id is None:
        raise FieldProblem("employer_id", message("field.employer_id_unknown", employer_id=employer_id))
    return employer


def _technician(session: Session, technician_id: str) -> Technician:
    technician = find_technician(session=session, technician_id=technician_id)
    if technician is None or technician.id is None:
        raise FieldProblem("technician_id", message("field.technician_id_unknown", technician_id=technician_id))
    return technician


def set_record(*, session: Session, technician_id: str, now: datetime, **values: Any) -> TechnicianRecord:
    technician = _technician(session, technician_id)
    assert technician.id is not None
    record = session.get(TechnicianRecord, technician.id) or TechnicianRecord(
        technician_pk=technician.id, updated_at=now
    )
    if "level" in values and values["level"] not in (1, 2, 3, 4):
        raise FieldProblem("level", message("field.level"))
    for key in ("health_insurance", "pension_insurance", "employment_insurance"):
        if key in values and values[key] not in INSURANCE:
            raise FieldProblem(key, message("field.insurance", values=", ".join(INSURANCE)))
    for key, value in values.items():
        if not hasattr(record, key) or key in ("technician_pk", "updated_at"):
            raise FieldProblem(key, message("field.unknown_field"))
        setattr(record, key, value)
    record.updated_at = now
    session.add(record)
    return record


def create_orderer(*, session: Session, orderer_code: str, name: str, now: datetime) -> Orderer:
    code = clean_text(orderer_code, field="orderer_code", max_length=40)
    if session.exec(select(Orderer).where(col(Orderer.orderer_code) == code)).first():
        raise FieldProblem("orderer_code", message("field.already_registered"))
    orderer = Orderer(orderer_code=code, name=clean_text(name, field="name", max_length=200), created_at=now)
    session.add(orderer)
    session.flush()
    return orderer


def create_site(
    *,
    session: Session,
    site_id: str,
    name: str,
    prime_employer_id: str,
    starts_on: date,
    ends_on: date | None = None,
    orderer_code: str | None = None,
    address: str = "",
    now: datetime,
) -> Site:
    """The prime contractor registers a site and gets its 現場ID; it becomes tier 0 of the site."""
    sid = clean_text(site_id, field="site_id", max_length=40)
    if session.exec(select(Site).where(col(Site.site_id) == sid)).first():
        raise FieldProblem("site_id", message("field.already_registered"))
    prime = _employer(session, prime_employer_id)
    orderer = None
    if orderer_code:
        orderer = session.exec(select(Orderer).where(col(Orderer.orderer_code) == orderer_code)).first()
        if orderer is None:
            raise FieldProblem("orderer_code", message("field.unknown_orderer"))
    assert prime.id is not None
    site = Site(
        site_id=sid,
        name=clean_text(name, field="name", max_length=200),
        address=address,
        prime_employer_pk=prime.id,
        orderer_pk=orderer.id if orderer else None,
        starts_on=starts_on,
        ends_on=ends_on,
        created_at=now,
    )
    session.add(site)
    session.flush()
    assert site.id is not None and prime.id is not None
    session.add(SiteCompany(site_pk=site.id, employer_pk=prime.id, tier=0))
    return site


def find_site(*, session: Session, site_id: str) -> Site | None:
    return session.exec(select(Site).where(col(Site.site_id) == site_id)).first()


def add_site_company(
    *,
    session: Session,
    site_id: str,
    employer_id: str,
    parent_employer_id: str,
    registered_by_employer_id: str | None = None,
) -> SiteCompany:
    """施工体制: ``employer`` works under ``parent`` one tier down. ``registered_by`` (代行) grants nothing."""
    site = find_site(session=session, site_id=site_id)
    if site is None or site.id is None:
        raise FieldProblem("site_id", message("field.unknown_site"))
    employer, parent = _employer(session, employer_id), _employer(session, parent_employer_id)
    assert employer.id is not None
    parent_row = session.exec(
        select(SiteCompany).where(col(SiteCompany.site_pk) == site.id).where(col(SiteCompany.employer_pk) == parent.id)
    ).first()
    if parent_row is None:
        raise FieldProblem("parent_employer_id", message("field.parent_not_on_site"))
    proxy = _employer(session, registered_by_employer_id) if registered_by_employer_id else None
    row = SiteCompany(
        site_pk=site.id,
        employer_pk=employer.id,
        tier=parent_row.tier + 1,
        parent_employer_pk=parent.id,
        registered_by_employer_pk=proxy.id if proxy else None,
    )
    session.add(row)
    session.flush()
    return row


def assign(
    *,
    session: Session,
    site_id: str,
    technician_id: str,
    employer_id: str,
    start_date: date,
    end_date: date | None = None,
    role: str = "",
    registered_by_employer_id: str | None = None,
) -> SiteAssignment:
    site = find_site(session=session, site_id=site_id)
    if site is None or site.id is None:
        raise FieldProblem("site_id", message("field.unknown_site"))
    technician, employer = _technician(session, technician_id), _employer(session, employer_id)
    assert technician.id is not None and employer.id is not None
    on_site = session.exec(
        select(SiteCompany)
        .where(col(SiteCompany.site_pk) == site.id)
        .where(col(SiteCompany.employer_pk) == employer.id)
    ).first()
    if on_site is None:
        raise FieldProblem("employer_id", message("field.company_not_on_site"))
    proxy = _employer(session, registered_by_employer_id) if registered_by_employer_id else None
    row = SiteAssignment(
        site_pk=site.id,
        technician_pk=technician.id,
        employer_pk=employer.id,
        role=role,
        start_date=start_date,
        end_date=end_date,
        registered_by_employer_pk=proxy.id if proxy else None,
    )
    session.add(row)
    session.flush()
    return row


def end_assignment(*, session: Session, site_id: str, technician_id: str, end_date: date) -> list[SiteAssignment]:
    """The technician leaves the site: each assignment there still open on ``end_date`` ends that day
    (inclusive). Upper tiers and the orderer stop seeing him from the next day (rules 2 and 5)."""
    site = find_site(session=session, site_id=site_id)
    if site is None or site.id is None:
        raise FieldProblem("site_id", message("field.unknown_site"))
    technician = _technician(session, technician_id)
    rows = [
        row
        for row in session.exec(
            select(SiteAssignment)
            .where(col(SiteAssignment.site_pk) == site.id)
            .where(col(SiteAssignment.technician_pk) == technician.id)
        ).all()
        if row.end_date is None or row.end_date > end_date
    ]
    if not rows:
        raise FieldProblem("technician_id", message("field.not_assigned"))
    if any(row.start_date > end_date for row in rows):
        raise FieldProblem("end", message("field.end_before_assignment"))
    for row in rows:
        row.end_date = end_date
        session.add(row)
    return rows


def close_site(*, session: Session, site_id: str, now: datetime) -> Site:
    site = find_site(session=session, site_id=site_id)
    if site is None:
        raise FieldProblem("site_id", message("field.unknown_site"))
    if site.closed_at is None:  # closing again keeps the first closing time
        site.closed_at = now
    session.add(site)
    return site


class SitePeriod(Protocol):
    """What ``site_active`` reads: a ``Site`` row, or the same columns (``register.relationships``)."""

    @property
    def closed_at(self) -> datetime | None: ...
    @property
    def starts_on(self) -> date: ...
    @property
    def ends_on(self) -> date | None: ...


class Period(Protocol):
    """What ``assignment_active`` reads: a ``SiteAssignment`` row, or the same columns."""

    @property
    def start_date(self) -> date: ...
    @property
    def end_date(self) -> date | None: ...


def site_active(site: SitePeriod, now: datetime) -> bool:
    today = local_date(now)
    return site.closed_at is None and site.starts_on <= today and (site.ends_on is None or site.ends_on >= today)


def assignment_active(row: Period, today: date) -> bool:
    return row.start_date <= today and (row.end_date is None or row.end_date >= today)


def work_history(
    *, session: Session, technician_pk: int, site_pks: list[int] | None = None, limit: int = 1000
) -> list[tuple[WorkRecord, Site]]:
    stmt = (
        select(WorkRecord, Site)
        .where(col(WorkRecord.site_pk) == Site.id)
        .where(col(WorkRecord.technician_pk) == technician_pk)
        .order_by(col(WorkRecord.work_date).desc())
        .limit(limit)
    )
    if site_pks is not None:
        stmt = stmt.where(col(WorkRecord.site_pk).in_(site_pks))
    return [(w, s) for w, s in session.exec(stmt).all()]


def record_work(
    *,
    session: Session,
    event_key: str,
    technician_id: str,
    site_id: str,
    work_date: date,
    entry_at: datetime | None,
    exit_at: datetime | None,
    role: str = "",
    work_content: str = "",
    occupation: str = "",
    source: str = "register",
    now: datetime,
) -> WorkRecord:
    """Idempotent by ``event_key``: recording the same event twice returns the first record."""
    existing = session.exec(select(WorkRecord).where(col(WorkRecord.event_key) == event_key)).first()
    if existing is not None:
        return existing
    site = find_site(session=session, site_id=site_id)
    technician = _technician(session, technician_id)
    if site is None or site.id is None:
        raise FieldProblem("site_id", message("field.unknown_site"))
    assert technician.id is not None
    assignment = session.exec(
        select(SiteAssignment)
        .where(col(SiteAssignment.site_pk) == site.id)
        .where(col(SiteAssignment.technician_pk) == technician.id)
    ).first()
    if assignment is None:
        raise FieldProblem("technician_id", message("field.not_assigned"))
    chain = session.exec(select(SiteCompany).where(col(SiteCompany.site_pk) == site.id)).all()
    by_employer = {c.employer_pk: c for c in chain}
    tier = by_employer[assignment.employer_pk].tier if assignment.employer_pk in by_employer else 0
    names: list[str] = []
    pk: int | None = assignment.employer_pk
    while pk is not None and pk in by_employer:
        employer = session.get(Employer, pk)
        names.append(employer.employer_id if employer else str(pk))
        pk = by_employer[pk].parent_employer_pk
    row = WorkRecord(
        event_key=event_key,
        technician_pk=technician.id,
        site_pk=site.id,
        work_date=work_date,
        entry_at=entry_at,
        exit_at=exit_at,
        prime_employer_pk=site.prime_employer_pk,
        employer_pk=assignment.employer_pk,
        tier=tier,
        tier_companies=list(reversed(names)),
        role=role or assignment.role,
        work_content=work_content,
        occupation=occupation,
        source=source,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row
