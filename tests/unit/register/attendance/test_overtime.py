"""Statutory overtime (労働基準法第32条: 8 h a day, 40 h a week, counted once), hours on several sites
added (第38条第1項) and legal holiday work apart (第35条), by the month the day falls in (issue 16;
docs/domain.md "Working time, overtime and 建退共 days")."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from register.attendance.gate_events import HolidayCalendar, HolidayKind
from register.attendance.overtime import EmployerSettings, daily_hours, monthly_hours
from register.attendance.working_time import WorkDay, working_time
from tests.unit.register.attendance.builders import NOW, SITES, entry, exit_, work_day

SETTINGS = EmployerSettings("E1")
MON = date(2026, 6, 1)  # a Monday; the week runs Sunday 31 May to Saturday 6 June


def week(*hours: float, start: date = MON, holidays: dict[int, HolidayKind] | None = None) -> list[WorkDay]:
    holidays = holidays or {}
    return [work_day(start + timedelta(days=i), h, holiday=holidays.get(i)) for i, h in enumerate(hours) if h]


def overtime(days: list[WorkDay], settings: EmployerSettings = SETTINGS) -> list[float]:
    return [d.overtime_minutes / 60 for d in daily_hours(days, settings)]


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        ([8, 8, 8, 8, 8], [0, 0, 0, 0, 0]),  # 40 h in five days of 8 h: none
        ([9, 9, 9, 9, 9], [1, 1, 1, 1, 1]),  # over 8 h a day: the daily excess only (within-day 40 h)
        ([8, 8, 8, 8, 8, 8], [0, 0, 0, 0, 0, 8]),  # the 6th day takes the week past 40 h
        ([10, 10, 10, 10, 10, 5], [2, 2, 2, 2, 2, 5]),  # daily 10 h, then the week's 40 h within-day hours
        ([7, 7, 7, 7, 7, 7], [0, 0, 0, 0, 0, 2]),  # no day over 8 h, 42 h: 2 h weekly on Saturday
    ],
)
def test_overtime_is_over_the_daily_or_the_weekly_hours_counted_once(hours: list[float], expected: list[float]) -> None:
    """労働基準法第32条 (8 h/day, 40 h/week): a minute over the daily hours is not counted again weekly."""
    assert overtime(week(*hours, start=MON)) == expected


def test_the_legal_holiday_is_holiday_work_and_a_company_holiday_is_ordinary_time() -> None:
    """第35条: the 法定休日 is 休日労働, outside 第32条; work on a 所定休日 (Saturday here) is ordinary time."""
    days = week(8, 8, 8, 8, 8, 8, start=MON, holidays={5: HolidayKind.COMPANY})
    days.append(work_day(date(2026, 6, 7), 8, holiday=HolidayKind.LEGAL))
    hours = daily_hours(days, SETTINGS)
    assert [(h.overtime_minutes, h.holiday_work_minutes) for h in hours[-2:]] == [(480, 0), (0, 480)]


def test_hours_on_two_sites_of_one_day_are_added() -> None:
    """労働基準法第38条第1項: working hours on different 事業場 are added up — 5 h + 5 h is 2 h over."""
    days = [work_day(MON, 5, site="S1"), work_day(MON, 5, site="S2")]
    assert overtime(days) == [2]


def test_a_week_across_the_month_boundary_puts_overtime_in_the_month_of_the_day_that_crossed() -> None:
    """第32条 weekly hours: Sunday 26 April to Saturday 2 May 2026; April's long days are April's overtime,
    the Saturday that takes the week past 40 h is May's."""
    days = week(10, 10, 10, 10, 8, 8, start=date(2026, 4, 27))
    by_month = monthly_hours(days, SETTINGS, date(2026, 4, 1), date(2026, 5, 1))["T1"]
    assert [(m.month, m.overtime_minutes / 60) for m in by_month] == [(date(2026, 4, 1), 8), (date(2026, 5, 1), 8)]


def test_the_week_starts_where_the_employer_says() -> None:
    """昭和63年1月1日基発第1号: the calendar week Sunday–Saturday unless the rules of employment say otherwise."""
    days = week(8, 8, 8, 8, 8, 8, start=MON)  # Monday to Saturday
    assert overtime(days, EmployerSettings("E1", week_starts_on=3))[-1] == 0  # Thursday-start: 24 h + 24 h


def test_a_night_shift_on_the_last_day_of_march_is_marchs_overtime() -> None:
    """昭和63年1月1日基発第1号: a shift from 31 March into 1 April is one working day of 31 March."""
    result = working_time([entry("2026-03-31 20:00"), exit_("2026-04-01 07:00")], SITES, {}, NOW)
    by_month = monthly_hours(result.days, SETTINGS, date(2026, 3, 1), date(2026, 4, 1))["T1"]
    assert [m.overtime_minutes for m in by_month] == [120, 0]


def test_flagged_days_and_other_employers_days_add_nothing() -> None:
    """Issue 16 "not counted silently": a flagged day is counted in flagged_days only; another employer's
    hours are that employer's."""
    days = [work_day(MON, 12, flagged=True), work_day(MON, 12, employer="E2"), work_day(MON + timedelta(1), 9)]
    (month,) = monthly_hours(days, SETTINGS, date(2026, 6, 1), date(2026, 6, 1))["T1"]
    assert (month.worked_minutes, month.overtime_minutes, month.flagged_days) == (540, 60, 1)


def test_a_month_without_work_is_zero_and_months_are_consecutive() -> None:
    """第36条第6項第3号 averages run over consecutive months: a month without work is there with zero hours."""
    days = [work_day(date(2026, 4, 6), 10), work_day(date(2026, 6, 1), 10)]
    by_month = monthly_hours(days, SETTINGS, date(2026, 4, 1), date(2026, 6, 1))["T1"]
    assert [m.overtime_minutes for m in by_month] == [120, 0, 120]


def test_the_legal_holiday_from_working_time_reaches_the_monthly_holiday_work() -> None:
    """第35条 end to end: a Sunday on site with a Sunday 法定休日 is holiday work, not overtime."""
    events = [entry("2026-06-07 08:00"), exit_("2026-06-07 17:00")]
    result = working_time(events, SITES, {"E1": HolidayCalendar(legal_holiday_weekday=6)}, NOW)
    (month,) = monthly_hours(result.days, SETTINGS, date(2026, 6, 1), date(2026, 6, 1))["T1"]
    assert (month.overtime_minutes, month.holiday_work_minutes) == (0, 480)
