"""The limits of 労働基準法第36条 (時間外労働の上限規制, construction from 2024-04-01), table-driven in the
manner of the labour ministry's leaflet 「時間外労働の上限規制 わかりやすい解説」: month values in hours, each
case naming its clause (issue 16 acceptance; docs/domain.md "Working time, overtime and 建退共 days")."""

from __future__ import annotations

from datetime import date

import pytest

from register.attendance.overtime import EmployerSettings
from register.attendance.overtime_limits import Finding, Limit, Severity, check_limits, describe
from tests.unit.register.attendance.builders import months

PLAIN = EmployerSettings("E1")
SPECIAL = EmployerSettings("E1", special_clause=True)
APRIL = date(2026, 4, 1)


def found(findings: tuple[Finding, ...], limit: Limit) -> list[tuple[str, Severity]]:
    return [(f.month.month.strftime("%Y-%m"), f.severity) for f in findings if f.limit is limit]


@pytest.mark.parametrize(
    ("overtime", "expected"),
    [
        (35, []),
        (36, [Severity.WARNING]),  # 80 % of 45 h
        (45, [Severity.WARNING]),  # 45 h is within 限度時間
        (45 + 1 / 60, [Severity.VIOLATION]),
    ],
)
def test_article_36_4_45_hours_a_month_without_a_special_clause(overtime: float, expected: list[Severity]) -> None:
    """第36条第4項: overtime at most 45 h a month; a warning from 80 % (36 h)."""
    findings = check_limits(months(APRIL, [overtime]), PLAIN)
    assert [s for _, s in found(findings, Limit.MONTH_45)] == expected


def test_article_36_4_360_hours_a_year_and_the_warning_month() -> None:
    """第36条第4項: 360 h a year; twelve months of 30 h is exactly 360 h (no violation), the warning comes
    in January when the year reaches 288 h (80 %), one minute more in March is a violation."""
    exact = check_limits(months(APRIL, [30] * 12), PLAIN)
    assert found(exact, Limit.YEAR_360) == [("2027-01", Severity.WARNING)]
    over = check_limits(months(APRIL, [30] * 11 + [30 + 1 / 60]), PLAIN)
    assert found(over, Limit.YEAR_360) == [("2027-01", Severity.WARNING), ("2027-03", Severity.VIOLATION)]


def test_the_year_starts_in_the_agreements_start_month() -> None:
    """第36条第2項第2号 (対象期間 of one year from its 起算日): twelve months of 32 h from April are 384 h in a
    year from April, but with a year from January, April–December 2026 (288 h) and January–March 2027 are
    two years, neither over 360 h."""
    from_april = check_limits(months(APRIL, [32] * 12), PLAIN)
    assert found(from_april, Limit.YEAR_360)[-1] == ("2027-03", Severity.VIOLATION)
    from_january = check_limits(months(APRIL, [32] * 12), EmployerSettings("E1", agreement_year_start_month=1))
    assert found(from_january, Limit.YEAR_360) == [("2026-12", Severity.WARNING)]


@pytest.mark.parametrize(
    ("overtime", "holiday", "expected"),
    [
        (79, 20, Severity.WARNING),  # 99 h with holiday work: under 100 h
        (80, 19 + 59 / 60, Severity.WARNING),  # 99 h 59 min
        (80, 20, Severity.VIOLATION),  # 100 h is not "under 100 h"
        (45, 55, Severity.VIOLATION),  # without excess over 45 h: 第6項 counts holiday work all the same
    ],
)
def test_article_36_6_2_under_100_hours_a_month_including_holiday_work(
    overtime: float, holiday: float, expected: Severity
) -> None:
    """第36条第6項第2号: overtime and holiday work together under 100 h in every month, special clause or not."""
    for settings in (PLAIN, SPECIAL):
        findings = check_limits(months(APRIL, [overtime], [holiday]), settings)
        assert found(findings, Limit.MONTH_100) == [("2026-04", expected)]


@pytest.mark.parametrize(
    ("hours", "severity", "window"),
    [
        ([70, 90], Severity.WARNING, 2),  # 2-month average 80 h: "80 h or less" holds
        ([70, 91], Severity.VIOLATION, 2),  # 80.5 h
        ([90, 60, 90], Severity.WARNING, 3),  # 2 months 75 h, 3 months 80 h
        ([90, 60, 91], Severity.VIOLATION, 3),  # 2 months 75.5 h but 3 months 80.3 h
        ([60, 95, 70, 90, 85], Severity.VIOLATION, 2),  # the last two, 87.5 h
        ([30, 30, 30, 30, 30, 30], None, 0),  # all averages 30 h: nothing
    ],
)
def test_article_36_6_3_every_2_to_6_month_average_at_most_80_hours(
    hours: list[float], severity: Severity | None, window: int
) -> None:
    """第36条第6項第3号: the averages over 2, 3, 4, 5 and 6 months ending in each month, holiday work included,
    at most 80 h; the worst window is reported for the last month."""
    findings = [f for f in check_limits(months(APRIL, hours), SPECIAL) if f.limit is Limit.AVERAGE_80]
    last = [f for f in findings if f.month.month == months(APRIL, hours)[-1].month]
    if severity is None:
        assert last == []
    else:
        assert [(f.severity, f.window) for f in last] == [(severity, window)]


def test_article_36_6_3_averages_reach_back_across_the_agreement_year() -> None:
    """第36条第6項第3号: the averages do not restart with a new 協定 year — March 90 h and April 80 h (a new
    year from April) average 85 h."""
    findings = check_limits(months(date(2026, 3, 1), [90, 80]), SPECIAL)
    assert found(findings, Limit.AVERAGE_80)[-1] == ("2026-04", Severity.VIOLATION)


def test_article_36_6_3_counts_holiday_work() -> None:
    """第36条第6項第3号: 60 h of overtime and 25 h of holiday work in each of two months is 85 h on average."""
    findings = check_limits(months(APRIL, [60, 60], [25, 25]), SPECIAL)
    assert found(findings, Limit.AVERAGE_80)[-1] == ("2026-05", Severity.VIOLATION)


def test_article_36_5_over_45_hours_in_at_most_six_months_the_seventh_is_a_violation() -> None:
    """第36条第5項: with a special clause, over 45 h in at most 6 months a year; a warning at the 5th
    (80 % of 6), the 7th month is a violation. 50 h and 40 h alternate, so no average exceeds 80 h."""
    hours = [50, 40, 50, 40, 50, 40, 50, 40, 50, 40, 50, 40]
    assert found(check_limits(months(APRIL, hours), SPECIAL), Limit.MONTHS_OVER_45) == [
        ("2026-12", Severity.WARNING),
        ("2027-02", Severity.WARNING),
    ]
    seventh = hours[:12]
    seventh[11] = 46
    assert found(check_limits(months(APRIL, seventh), SPECIAL), Limit.MONTHS_OVER_45)[-1] == (
        "2027-03",
        Severity.VIOLATION,
    )


def test_article_36_5_720_hours_a_year_not_counting_holiday_work() -> None:
    """第36条第5項: at most 720 h of overtime a year, holiday work not included. 80 h and 40 h alternate to
    exactly 720 h with six months over 45 h: no violation; a minute more is one, holiday work is not."""
    hours: list[float] = [80, 40] * 6
    exact = check_limits(months(APRIL, hours, [0] * 11 + [10]), SPECIAL)
    assert found(exact, Limit.YEAR_720) == [("2027-01", Severity.WARNING)]
    assert not [f for f in exact if f.severity is Severity.VIOLATION]
    hours[-1] += 1 / 60
    assert found(check_limits(months(APRIL, hours), SPECIAL), Limit.YEAR_720)[-1] == ("2027-03", Severity.VIOLATION)


def test_with_a_special_clause_a_month_over_45_hours_is_a_warning_not_a_violation() -> None:
    """第36条第4項 and 第5項: with a special clause a month of 60 h is allowed (one of the six), so the 45 h
    finding is a warning; without one, a violation."""
    assert found(check_limits(months(APRIL, [60]), SPECIAL), Limit.MONTH_45) == [("2026-04", Severity.WARNING)]
    assert found(check_limits(months(APRIL, [60]), PLAIN), Limit.MONTH_45) == [("2026-04", Severity.VIOLATION)]


def test_the_warning_threshold_is_the_employers() -> None:
    """Issue 16 "warnings at thresholds the employer sets (default 80 %)": at 90 %, 36 h is no warning."""
    settings = EmployerSettings("E1", warning_fraction=0.9)
    assert found(check_limits(months(APRIL, [36]), settings), Limit.MONTH_45) == []
    assert found(check_limits(months(APRIL, [41]), settings), Limit.MONTH_45) == [("2026-04", Severity.WARNING)]


def test_each_finding_names_its_clause() -> None:
    """Issue 16: each finding names the clause of 第36条 it checks."""
    findings = check_limits(months(APRIL, [90, 80], [15, 0]), SPECIAL)
    lines = [describe(f) for f in findings]
    assert "violation 労働基準法第36条第6項第2号 2026-04: 105.0 h (limit 100.0 h)" in lines
    assert any(line.startswith("violation 労働基準法第36条第6項第3号 2026-05: 2-month average") for line in lines)


def test_months_with_a_gap_are_refused() -> None:
    """第36条第6項第3号 averages consecutive months: a gap would average the wrong months, so it is an error."""
    april, _, june = months(APRIL, [10, 10, 10])
    with pytest.raises(ValueError, match="consecutive"):
        check_limits([april, june], PLAIN)
