"""Attendance from stored events (issue 16; docs/domain.md "Working time, overtime and 建退共 days"):
keep an entry or exit the gate hands over, and (re)compute a technician's month with an employer by
running the pure rules (``working_time`` → ``monthly_hours`` → ``check_limits``, ``kentaikyo_days``).

What a month needs: the technician's events on every site and with every employer (a shift on two sites
at once is flagged), from the week before the month (weekly overtime, 労働基準法第32条) and from the
earlier of the 協定 year's start (第36条第4項・第5項 yearly limits) and five months before (第6項第3号's
average over up to six months), to the day after the month (a shift over midnight belongs to its entry's
date). Incremental: each event that arrives refreshes the summary of the month it belongs to (and the
month before when it lands on the 1st: an exit after midnight closes the previous day); recomputing a
month runs the same function.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from common.japan_time import JAPAN, local_date
from idp.models import Employer
from register.attendance.gate_events import EventKind, EventSource, GateEvent, HolidayCalendar, SiteRule
from register.attendance.kentaikyo import kentaikyo_days
from register.attendance.models import AttendanceEvent, AttendanceMonth, AttendanceSettings, AttendanceSiteRule
from register.attendance.overtime import EmployerSettings, first_of_month, monthly_hours, next_month
from register.attendance.overtime_limits import CLAUSES, check_limits, describe
from register.attendance.working_time import WorkDay, working_time
from register.models import Site


def _months_back(month: date, count: int) -> date:
    year, index = divmod(month.year * 12 + month.month - 1 - count, 12)
    return date(year, index + 1, 1)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=JAPAN)


def employer_settings(session: Session, employer_id: str) -> tuple[EmployerSettings, HolidayCalendar]:
    """The employer's stored settings, or the defaults (8 h / 40 h, Sunday 法定休日, April 協定 year)."""
    employer = session.exec(select(Employer).where(col(Employer.employer_id) == employer_id)).first()
    row = session.get(AttendanceSettings, employer.id) if employer is not None else None
    if row is None:
        return EmployerSettings(employer_id), HolidayCalendar()
    settings = EmployerSettings(
        employer_id,
        special_clause=row.special_clause,
        daily_statutory_minutes=row.daily_statutory_minutes,
        weekly_statutory_minutes=row.weekly_statutory_minutes,
        week_starts_on=row.week_starts_on,
        agreement_year_start_month=row.agreement_year_start_month,
        warning_fraction=row.warning_fraction,
    )
    return settings, HolidayCalendar(legal_holiday_weekday=row.legal_holiday_weekday)


def _site_rules(session: Session, site_ids: set[str]) -> dict[str, SiteRule]:
    """The prime contractor's rule per site; a site without one opened on its start date."""
    rules: dict[str, SiteRule] = {}
    for site in session.exec(select(Site).where(col(Site.site_id).in_(site_ids))).all():
        row = session.get(AttendanceSiteRule, site.id)
        if row is None:
            rules[site.site_id] = SiteRule(site.site_id, site.starts_on)
        else:
            rules[site.site_id] = SiteRule(site.site_id, row.opened_on, row.break_minutes)
    return rules


def _events(session: Session, technician_id: str, start: date, end: date) -> list[GateEvent]:
    rows = session.exec(
        select(AttendanceEvent)
        .where(col(AttendanceEvent.technician_id) == technician_id)
        .where(col(AttendanceEvent.at) >= _start_of(start))
        .where(col(AttendanceEvent.at) < _start_of(end))
        .order_by(col(AttendanceEvent.at), col(AttendanceEvent.id))
    ).all()
    return [
        GateEvent(
            event_id=row.event_key,
            technician=row.technician_id,
            employer=row.employer_id,
            site=row.site_id,
            kind=EventKind(row.kind),
            at=row.at,
            verified=row.verified,
            source=EventSource(row.source),
        )
        for row in rows
    ]


def _day_json(day: WorkDay) -> dict[str, Any]:
    return {
        "date": day.work_date.isoformat(),
        "site_id": day.site,
        "first_entry": day.first_entry.astimezone(JAPAN).isoformat(),
        "last_exit": day.last_exit.astimezone(JAPAN).isoformat() if day.last_exit else None,
        "on_site_minutes": day.on_site_minutes,
        "break_minutes": day.break_minutes,
        "worked_minutes": day.worked_minutes,
        "night_minutes": day.night_minutes,
        "holiday": day.holiday.value if day.holiday else None,
        "verified": day.verified,
        "counted": day.counted,
        "flags": [{"kind": f.kind.value, "reason": f.reason} for f in day.flags],
    }


def recompute_month(
    session: Session, technician_id: str, employer_id: str, month: date, *, now: datetime
) -> AttendanceMonth:
    """Run the rules for one technician's month with one employer and store the summary (the caller
    commits). Idempotent: the same events give the same row."""
    month = first_of_month(month)
    settings, calendar = employer_settings(session, employer_id)
    first = min(_months_back(month, 5), date(settings.agreement_year(month), settings.agreement_year_start_month, 1))
    events = _events(session, technician_id, first - timedelta(days=7), next_month(month) + timedelta(days=1))
    computed = working_time(events, _site_rules(session, {e.site for e in events}), {employer_id: calendar}, now)
    mine = [d for d in computed.days if d.employer == employer_id]
    months = monthly_hours(mine, settings, first, month).get(technician_id, ())
    hours = months[-1] if months else None
    findings = [f for f in check_limits(months, settings) if f.month.month == month]
    kentaikyo = kentaikyo_days(d for d in mine if first_of_month(d.work_date) == month)
    counted_days = [d.isoformat() for k in kentaikyo for d in k.days]
    ids = {e.event_id for e in events if e.employer == employer_id and local_date(e.at) >= month}
    detail = {
        "days": [_day_json(d) for d in mine if first_of_month(d.work_date) == month],
        "rejected": [
            {"kind": f.kind.value, "reason": f.reason} for f in computed.rejected if ids.intersection(f.event_ids)
        ],
        "findings": [
            {
                "limit": f.limit.value,
                "severity": f.severity.value,
                "clause": CLAUSES[f.limit],
                "value": f.value,
                "limit_value": f.limit_value,
                "window_months": f.window,
                "message": describe(f),
            }
            for f in findings
        ],
        "kentaikyo_days": counted_days,
        "kentaikyo_set_apart": [
            {"date": s.work_date.isoformat(), "site_id": s.site, "reasons": list(s.reasons)}
            for k in kentaikyo
            for s in k.set_apart
        ],
    }
    row = session.exec(
        select(AttendanceMonth)
        .where(col(AttendanceMonth.technician_id) == technician_id)
        .where(col(AttendanceMonth.employer_id) == employer_id)
        .where(col(AttendanceMonth.month) == month)
    ).first() or AttendanceMonth(technician_id=technician_id, employer_id=employer_id, month=month, computed_at=now)
    row.worked_minutes = hours.worked_minutes if hours else 0
    row.overtime_minutes = hours.overtime_minutes if hours else 0
    row.holiday_work_minutes = hours.holiday_work_minutes if hours else 0
    row.flagged_days = hours.flagged_days if hours else 0
    row.kentaikyo_days = len(counted_days)
    row.detail = detail
    row.computed_at = now
    session.add(row)
    return row


def record_event(
    session: Session,
    *,
    event_key: str,
    technician_id: str,
    employer_id: str,
    site_id: str,
    direction: str,
    at: datetime,
    verified: bool,
    source: str,
    now: datetime,
) -> bool:
    """Keep one entry (``in``) or exit (``out``) and refresh the month(s) it touches (the caller
    commits). False when the event was already kept (the same ``event_key``: an upload retried)."""
    if session.exec(select(AttendanceEvent.id).where(col(AttendanceEvent.event_key) == event_key)).first():
        return False
    session.add(
        AttendanceEvent(
            event_key=event_key,
            technician_id=technician_id,
            employer_id=employer_id,
            site_id=site_id,
            kind=EventKind.ENTRY if direction == "in" else EventKind.EXIT,
            at=at,
            verified=verified,
            source=EventSource.OFFLINE if source == "offline" else EventSource.ONLINE,
            received_at=now,
        )
    )
    session.flush()
    day = local_date(at)
    for month in sorted({first_of_month(day), first_of_month(day - timedelta(days=1))}):
        _refresh(session, technician_id, employer_id, month, now)
    return True


def _refresh(session: Session, technician_id: str, employer_id: str, month: date, now: datetime) -> None:
    """recompute_month in a savepoint: when another gate's event created the month's row first (the
    unique constraint), compute again, now updating that row instead of losing this event's work record."""
    for attempt in (1, 2):
        try:
            with session.begin_nested():
                recompute_month(session, technician_id, employer_id, month, now=now)
            return
        except IntegrityError:
            if attempt == 2:
                raise


def recompute_employer_month(
    session: Session, employer_id: str, month: date, *, now: datetime, technician_id: str | None = None
) -> list[AttendanceMonth]:
    """Recompute ``month`` for one technician, or for every technician with an event or a summary of
    the employer in it (the operator's ``genba admin recompute-attendance``; the caller commits)."""
    month = first_of_month(month)
    technicians = {technician_id} if technician_id else set()
    if technician_id is None:
        technicians.update(
            session.exec(
                select(AttendanceEvent.technician_id)
                .where(col(AttendanceEvent.employer_id) == employer_id)
                .where(col(AttendanceEvent.at) >= _start_of(month))
                .where(col(AttendanceEvent.at) < _start_of(next_month(month) + timedelta(days=1)))
            ).all()
        )
        technicians.update(
            session.exec(
                select(AttendanceMonth.technician_id)
                .where(col(AttendanceMonth.employer_id) == employer_id)
                .where(col(AttendanceMonth.month) == month)
            ).all()
        )
    return [recompute_month(session, t, employer_id, month, now=now) for t in sorted(technicians)]
