"""建退共 days per technician, employer and month (issue 16; docs/domain.md "Working time, overtime and
建退共 days"): a day with a verified entry on a site counts once, however many sites; flagged or
unverified site-days are listed apart with their reasons."""

from __future__ import annotations

from datetime import date

from register.attendance.kentaikyo import kentaikyo_days
from register.attendance.working_time import working_time
from tests.unit.register.attendance.builders import NOW, SITES, entry, exit_


def test_a_day_on_two_sites_is_one_day_and_bad_or_unverified_days_are_listed_apart() -> None:
    """Issue 16 "建退共 days": one per day however many sites; flagged and unverified days set apart."""
    events = [
        entry("2026-06-01 08:00", "S1"), exit_("2026-06-01 12:00", "S1"),
        entry("2026-06-01 13:00", "S2"), exit_("2026-06-01 17:00", "S2"),
        entry("2026-06-02 08:00"), exit_("2026-06-02 17:00"),
        entry("2026-06-03 08:00", verified=False), exit_("2026-06-03 17:00"),
        entry("2026-06-04 08:00"),  # no exit
        entry("2026-06-30 22:00"), exit_("2026-07-01 06:00"),  # counts on 30 June, the entry's date
    ]  # fmt: skip
    (june,) = kentaikyo_days(working_time(events, SITES, {}, NOW).days)
    assert june.month == date(2026, 6, 1) and june.day_count == 3
    assert june.days == (date(2026, 6, 1), date(2026, 6, 2), date(2026, 6, 30))
    assert [(s.work_date.day, s.reasons[0][:22]) for s in june.set_apart] == [
        (3, "no verified entry"),
        (4, "entry at 2026-06-04 08"),
    ]


def test_months_and_employers_are_apart() -> None:
    """Issue 16 "per technician, employer and month": each employer reports its own technicians' days."""
    result = working_time([entry("2026-06-01 08:00"), exit_("2026-06-01 17:00")], SITES, {}, NOW)
    (month,) = kentaikyo_days(result.days)
    assert (month.technician, month.employer, month.month, month.day_count) == ("T1", "E1", date(2026, 6, 1), 1)
