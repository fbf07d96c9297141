"""Setting the attendance rules (issue 16; docs/domain.md "Working time, overtime and 建退共 days"): the
prime contractor's rule for a site (the day it opened, its break) and the employer's settings (special
clause, statutory hours, week start, 協定 start month, warning fraction, 法定休日 weekday). Each is checked
by the rules' own constructors (``SiteRule``, ``EmployerSettings``, ``HolidayCalendar``) before it is
stored, and the months it changes are recomputed at once (``store.recompute_month``), so a summary never
mixes old and new settings. The caller commits.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from common.japan_time import local_date
from idp.models import Employer
from idp.public import FieldProblem
from register.attendance.gate_events import HolidayCalendar, SiteRule
from register.attendance.models import AttendanceEvent, AttendanceMonth, AttendanceSettings, AttendanceSiteRule
from register.attendance.overtime import EmployerSettings, first_of_month
from register.attendance.store import recompute_month
from register.models import Site

ONE_DAY = timedelta(days=1)


def _problem(field: str, error: ValueError) -> FieldProblem:
    return FieldProblem(field, "勤怠の設定が正しくありません: " + str(error), str(error))


def set_site_rule(
    session: Session, *, site_id: str, opened_on: date, break_minutes: int, updated_by: str, now: datetime
) -> AttendanceSiteRule:
    """The prime contractor's rule for ``site_id``; the months with events on the site are recomputed."""
    site = session.exec(select(Site).where(col(Site.site_id) == site_id)).first()
    if site is None or site.id is None:
        raise FieldProblem("site_id", "現場が見つかりません", "no such site")
    try:
        SiteRule(site_id, opened_on, break_minutes)
    except ValueError as error:
        raise _problem("break_minutes", error) from None
    row = session.get(AttendanceSiteRule, site.id) or AttendanceSiteRule(
        site_pk=site.id, opened_on=opened_on, updated_at=now
    )
    row.opened_on, row.break_minutes, row.updated_by, row.updated_at = opened_on, break_minutes, updated_by, now
    session.add(row)
    session.flush()
    touched = session.exec(
        select(AttendanceEvent.technician_id, AttendanceEvent.employer_id, AttendanceEvent.at).where(
            col(AttendanceEvent.site_id) == site_id
        )
    ).all()
    # an exit after midnight on the 1st closes a day of the month before
    days = {(t, e, local_date(at)) for t, e, at in touched}
    _recompute(session, {(t, e, first_of_month(d - b)) for t, e, d in days for b in (timedelta(0), ONE_DAY)}, now)
    return row


def set_employer_settings(session: Session, *, employer_id: str, now: datetime, **values: object) -> AttendanceSettings:
    """The employer's settings (any of ``AttendanceSettings``' columns); its stored months are recomputed."""
    employer = session.exec(select(Employer).where(col(Employer.employer_id) == employer_id)).first()
    if employer is None or employer.id is None:
        raise FieldProblem("employer_id", "事業者が見つかりません", "no such employer")
    row = session.get(AttendanceSettings, employer.id) or AttendanceSettings(employer_pk=employer.id, updated_at=now)
    unknown = set(values) - (set(AttendanceSettings.model_fields) - {"employer_pk", "updated_at"})
    if unknown:
        raise FieldProblem(sorted(unknown)[0], "不明な設定です", "unknown setting")
    for name, value in values.items():
        setattr(row, name, value)
    try:
        EmployerSettings(
            employer_id,
            special_clause=row.special_clause,
            daily_statutory_minutes=row.daily_statutory_minutes,
            weekly_statutory_minutes=row.weekly_statutory_minutes,
            week_starts_on=row.week_starts_on,
            agreement_year_start_month=row.agreement_year_start_month,
            warning_fraction=row.warning_fraction,
        )
        HolidayCalendar(legal_holiday_weekday=row.legal_holiday_weekday)
    except ValueError as error:
        raise _problem("settings", error) from None
    row.updated_at = now
    session.add(row)
    session.flush()
    months = session.exec(select(AttendanceMonth).where(col(AttendanceMonth.employer_id) == employer_id)).all()
    _recompute(session, {(m.technician_id, employer_id, m.month) for m in months}, now)
    return row


def _recompute(session: Session, months: set[tuple[str, str, date]], now: datetime) -> None:
    for technician_id, employer_id, month in sorted(months):
        recompute_month(session, technician_id, employer_id, month, now=now)
