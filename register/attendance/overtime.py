"""Statutory overtime and legal holiday work per technician and employer, across all his sites (issue 16;
docs/domain.md "Working time, overtime and 建退共 days").

- 労働基準法第32条: 8 hours a day and 40 hours a week (the employer's settings may say otherwise). A
  day's overtime is its work over the daily hours; a week's is the work left within the daily hours that
  takes the week past the weekly hours, counted on the day it does so (so a minute is never counted
  twice, and a week across a month boundary puts its overtime in the month of the day that crossed).
  The week is the calendar week from ``week_starts_on`` (Sunday unless the rules of employment say
  otherwise, 昭和63年1月1日基発第1号).
- 労働基準法第38条第1項: the hours on different sites (事業場) of one day are added up.
- 労働基準法第35条: work on the 法定休日 is 休日労働, counted apart and not in the 第32条 overtime; work
  on another day off (所定休日, a national holiday) is ordinary working time.
- Only counted days (no flag) are added; flagged days are counted in ``MonthHours.flagged_days``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from register.attendance.gate_events import HolidayKind
from register.attendance.working_time import WorkDay


@dataclass(frozen=True)
class EmployerSettings:
    """What the employer's rules and its 36協定 say (issue 16, "The employer's settings say which
    applies and the statutory working hours")."""

    employer: str
    special_clause: bool = False
    daily_statutory_minutes: int = 8 * 60
    weekly_statutory_minutes: int = 40 * 60
    week_starts_on: int = 6
    agreement_year_start_month: int = 4
    warning_fraction: float = 0.8

    def __post_init__(self) -> None:
        if not 1 <= self.agreement_year_start_month <= 12:
            raise ValueError("agreement_year_start_month must be 1 to 12")
        if not 0 <= self.week_starts_on <= 6:
            raise ValueError("week_starts_on must be 0 (Monday) to 6 (Sunday)")
        if not 0 < self.warning_fraction <= 1:
            raise ValueError("warning_fraction must be in (0, 1]")

    def agreement_year(self, month: date) -> int:
        """The calendar year in which the 協定 year holding ``month`` starts."""
        return month.year if month.month >= self.agreement_year_start_month else month.year - 1


@dataclass(frozen=True)
class DayHours:
    technician: str
    work_date: date
    worked_minutes: int
    overtime_minutes: int
    holiday_work_minutes: int


@dataclass(frozen=True)
class MonthHours:
    """One technician's month with one employer (the first of the month stands for it)."""

    technician: str
    employer: str
    month: date
    worked_minutes: int
    overtime_minutes: int
    holiday_work_minutes: int
    flagged_days: int

    @property
    def overtime_and_holiday_minutes(self) -> int:
        """What 労働基準法第36条第6項第2号・第3号 limit: overtime and holiday work together."""
        return self.overtime_minutes + self.holiday_work_minutes


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def daily_hours(days: Iterable[WorkDay], settings: EmployerSettings) -> tuple[DayHours, ...]:
    """Each technician's dates with the employer: overtime by 第32条 and holiday work by 第35条."""
    worked: dict[tuple[str, date], int] = defaultdict(int)
    legal: set[tuple[str, date]] = set()
    for day in days:
        if day.employer != settings.employer or not day.counted:
            continue
        worked[(day.technician, day.work_date)] += day.worked_minutes
        if day.holiday is HolidayKind.LEGAL:
            legal.add((day.technician, day.work_date))
    week_total: dict[tuple[str, date], int] = defaultdict(int)
    result = []
    for technician, work_date in sorted(worked):
        minutes = worked[(technician, work_date)]
        if (technician, work_date) in legal:
            result.append(DayHours(technician, work_date, minutes, 0, minutes))
            continue
        daily_over = max(0, minutes - settings.daily_statutory_minutes)
        within_day = minutes - daily_over
        week = (technician, work_date - timedelta(days=(work_date.weekday() - settings.week_starts_on) % 7))
        weekly_over = max(0, min(within_day, week_total[week] + within_day - settings.weekly_statutory_minutes))
        week_total[week] += within_day - weekly_over
        result.append(DayHours(technician, work_date, minutes, daily_over + weekly_over, 0))
    return tuple(result)


def monthly_hours(
    days: Iterable[WorkDay], settings: EmployerSettings, first_month: date, last_month: date
) -> dict[str, tuple[MonthHours, ...]]:
    """Every month from ``first_month`` to ``last_month`` for each technician with a day in them (a month
    without work is zero hours). The weeks are counted from the days given: pass the days of the week
    before ``first_month`` too, or its weekly overtime is not seen."""
    days = list(days)
    totals: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for hours in daily_hours(days, settings):
        total = totals[(hours.technician, first_of_month(hours.work_date))]
        total[0] += hours.worked_minutes
        total[1] += hours.overtime_minutes
        total[2] += hours.holiday_work_minutes
    for day in days:
        if day.employer == settings.employer and not day.counted:
            totals[(day.technician, first_of_month(day.work_date))][3] += 1
    technicians = sorted({t for t, m in totals if first_month <= m <= last_month})
    result = {}
    for technician in technicians:
        months, month = [], first_of_month(first_month)
        while month <= last_month:
            worked, over, holiday, flagged = totals.get((technician, month), [0, 0, 0, 0])
            months.append(MonthHours(technician, settings.employer, month, worked, over, holiday, flagged))
            month = next_month(month)
        result[technician] = tuple(months)
    return result
