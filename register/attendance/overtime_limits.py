"""The overtime limits of 労働基準法第36条 (時間外労働の上限規制), applied to construction from 2024-04-01
(第139条's deferral ended), checked on a technician's months with one employer (issue 16; docs/domain.md
"Working time, overtime and 建退共 days"). Each finding names its clause.

- 第36条第4項 (限度時間): overtime at most 45 h a month and 360 h a year. Without a special clause a month
  or year beyond is a violation; with one (特別条項), a month over 45 h uses one of the six months of
  第5項, and the year's limit is 第5項's 720 h.
- 第36条第5項: overtime at most 720 h a year (holiday work not included); over 45 h in at most 6 months of
  the 協定 year (the 7th is a violation).
- 第36条第6項第2号: overtime and holiday work together under 100 h in every month (100 h is a violation).
- 第36条第6項第3号: overtime and holiday work together at most 80 h a month on average over every 2, 3, 4,
  5 and 6 consecutive months, also across 協定 years. 第6項 holds with or without a special clause.
- A warning when a value reaches ``warning_fraction`` of a limit without breaking it. Yearly limits are
  reported in the first month of the 協定 year that reaches the warning or breaks the limit.

Not covered: 災害の復旧・復興 work, exempt from 第6項第2号・第3号 (第139条第1項), and the 1-year variable
working-hours system's 42 h / 320 h (第36条第4項括弧書き).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from register.attendance.overtime import EmployerSettings, MonthHours, next_month


class Severity(StrEnum):
    WARNING = "warning"
    VIOLATION = "violation"


class Limit(StrEnum):
    MONTH_45 = "month_45h"
    YEAR_360 = "year_360h"
    YEAR_720 = "year_720h"
    MONTHS_OVER_45 = "months_over_45h"
    MONTH_100 = "month_100h"
    AVERAGE_80 = "average_80h"


CLAUSES = {
    Limit.MONTH_45: "労働基準法第36条第4項",
    Limit.YEAR_360: "労働基準法第36条第4項",
    Limit.YEAR_720: "労働基準法第36条第5項",
    Limit.MONTHS_OVER_45: "労働基準法第36条第5項",
    Limit.MONTH_100: "労働基準法第36条第6項第2号",
    Limit.AVERAGE_80: "労働基準法第36条第6項第3号",
}
HOUR = 60
MONTH_LIMIT, YEAR_LIMIT, SPECIAL_YEAR_LIMIT = 45 * HOUR, 360 * HOUR, 720 * HOUR
SPECIAL_MONTHS, MONTH_CAP, AVERAGE_LIMIT = 6, 100 * HOUR, 80 * HOUR


@dataclass(frozen=True)
class Finding:
    """``value`` and ``limit`` are minutes, except for MONTHS_OVER_45 where they count months; for an
    average, ``value`` is the average (rounded down) over the ``window`` months ending in ``month``."""

    technician: str
    employer: str
    limit: Limit
    severity: Severity
    month: MonthHours
    value: int
    limit_value: int
    window: int = 1

    @property
    def clause(self) -> str:
        return CLAUSES[self.limit]


def _hours(minutes: float) -> str:
    return f"{minutes / HOUR:.1f} h"


def describe(finding: Finding) -> str:
    """One line for the employer's page: the clause, the month, the value and the limit."""
    month = finding.month.month.strftime("%Y-%m")
    if finding.limit is Limit.MONTHS_OVER_45:
        what = f"{finding.value} months over 45 h in the 協定 year (at most {finding.limit_value})"
    elif finding.limit is Limit.AVERAGE_80:
        what = f"{finding.window}-month average {_hours(finding.value)} (limit {_hours(finding.limit_value)})"
    else:
        what = f"{_hours(finding.value)} (limit {_hours(finding.limit_value)})"
    return f"{finding.severity} {finding.clause} {month}: {what}"


def _severity(value: float, limit: float, fraction: float, *, strictly_below: bool) -> Severity | None:
    broken = value >= limit if strictly_below else value > limit
    if broken:
        return Severity.VIOLATION
    return Severity.WARNING if value > 0 and value >= fraction * limit else None


def check_limits(months: Sequence[MonthHours], settings: EmployerSettings) -> tuple[Finding, ...]:
    """Every finding for one technician's consecutive months with ``settings.employer``, in month order."""
    findings: list[Finding] = []
    fraction = settings.warning_fraction
    year_total: dict[int, int] = {}
    over_45: dict[int, int] = {}
    reported: set[tuple[int, Severity]] = set()

    def add(limit: Limit, severity: Severity | None, month: MonthHours, value: int, cap: int, window: int = 1) -> None:
        if severity is not None:
            findings.append(Finding(month.technician, month.employer, limit, severity, month, value, cap, window))

    year_limit, year_rule = (YEAR_LIMIT, Limit.YEAR_360)
    if settings.special_clause:
        year_limit, year_rule = (SPECIAL_YEAR_LIMIT, Limit.YEAR_720)
    for index, month in enumerate(months):
        if index and month.month != next_month(months[index - 1].month):
            raise ValueError(f"months must be consecutive: {month.month} follows {months[index - 1].month}")
        year = settings.agreement_year(month.month)
        year_total[year] = year_total.get(year, 0) + month.overtime_minutes
        over = month.overtime_minutes
        if settings.special_clause and over > MONTH_LIMIT:
            # 第5項: allowed, but it uses one of the year's six months over 45 h.
            over_45[year] = over_45.get(year, 0) + 1
            add(Limit.MONTH_45, Severity.WARNING, month, over, MONTH_LIMIT)
            severity = _severity(over_45[year], SPECIAL_MONTHS, fraction, strictly_below=False)
            add(Limit.MONTHS_OVER_45, severity, month, over_45[year], SPECIAL_MONTHS)
        else:
            add(Limit.MONTH_45, _severity(over, MONTH_LIMIT, fraction, strictly_below=False), month, over, MONTH_LIMIT)
        severity = _severity(year_total[year], year_limit, fraction, strictly_below=False)
        if severity is not None and (year, severity) not in reported:
            reported.add((year, severity))
            add(year_rule, severity, month, year_total[year], year_limit)
        both = month.overtime_and_holiday_minutes
        add(Limit.MONTH_100, _severity(both, MONTH_CAP, fraction, strictly_below=True), month, both, MONTH_CAP)
        worst = _worst_average(months[: index + 1])
        if worst is not None:
            total, window = worst
            # Compared as totals, not rounded averages: 80 h and half a minute on average is over the limit.
            severity = _severity(total, AVERAGE_LIMIT * window, fraction, strictly_below=False)
            add(Limit.AVERAGE_80, severity, month, total // window, AVERAGE_LIMIT, window)
    return tuple(findings)


def _worst_average(months: Sequence[MonthHours]) -> tuple[int, int] | None:
    """第36条第6項第3号 for the windows of 2 to 6 months that end with the last of ``months``: the total and
    length of the window with the highest average (the longest of equal ones), or None with one month."""
    worst: tuple[int, int] | None = None
    for window in range(2, min(6, len(months)) + 1):
        total = sum(m.overtime_and_holiday_minutes for m in months[-window:])
        if worst is None or total * worst[1] >= worst[0] * window:
            worst = (total, window)
    return worst
