"""Working time from gate events (issue 16; docs/domain.md "Working time, overtime and 建退共 days"):
first entry and last exit per technician, Japan date and site, break (労働基準法第34条), night
(第37条第4項), holiday kind (第35条), and each bad-input flag with its reason."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from register.attendance.gate_events import EventKind, FlagKind, GateEvent, HolidayCalendar, HolidayKind
from register.attendance.working_time import WorkingTime, break_minutes, working_time
from tests.unit.register.attendance.builders import NOW, SITES, entry, exit_, jst


def run(*events: GateEvent, calendars: dict[str, HolidayCalendar] | None = None) -> WorkingTime:
    return working_time(events, SITES, calendars or {}, NOW)


def all_ids(result: WorkingTime) -> set[str]:
    return {i for d in result.days for i in d.event_ids} | {i for f in result.rejected for i in f.event_ids}


def test_an_ordinary_day_is_first_entry_to_last_exit_less_the_sites_break() -> None:
    """Issue 16: time on site from first entry to last exit; the site's break (default 60 min)."""
    (day,) = run(entry("2026-06-01 08:00"), exit_("2026-06-01 17:00")).days
    assert day.work_date == date(2026, 6, 1)
    assert (day.on_site_minutes, day.break_minutes, day.worked_minutes) == (540, 60, 480)
    assert day.counted and day.night_minutes == 0 and day.holiday is None


def test_leaving_for_lunch_and_coming_back_is_one_day_from_first_entry_to_last_exit() -> None:
    """Issue 16: first entry, last exit — the 就業履歴 record has one entry and one exit time per day."""
    result = run(
        entry("2026-06-01 08:00"), exit_("2026-06-01 12:00"), entry("2026-06-01 13:00"), exit_("2026-06-01 17:00")
    )
    (day,) = result.days
    assert (day.first_entry, day.last_exit) == (jst("2026-06-01 08:00"), jst("2026-06-01 17:00"))
    assert day.on_site_minutes == 540
    assert len(day.event_ids) == 4


@pytest.mark.parametrize(
    ("on_site", "site_rule", "expected"),
    [
        (6 * 60, 60, 0),  # 6 h or less: 第34条 asks no break
        (6 * 60 + 30, 60, 60),  # over 6 h: the site's rule
        (7 * 60, 30, 45),  # site rule shorter than the statute: 45 min over 6 h of work
        (8 * 60 + 45, 30, 45),  # 8 h 45 min on site less 45 min is 8 h of work: 45 min is enough
        (8 * 60 + 46, 30, 60),  # beyond it the work would exceed 8 h: 60 min
        (10 * 60, 90, 90),  # a site rule longer than the statute applies as it is
    ],
)
def test_break_is_the_site_rule_but_never_less_than_article_34(on_site: int, site_rule: int, expected: int) -> None:
    """労働基準法第34条: at least 45 min over 6 h of work and 60 min over 8 h; the site rule may be longer."""
    assert break_minutes(on_site, site_rule) == expected


def test_a_night_shift_on_the_last_day_of_the_month_belongs_to_the_entrys_date() -> None:
    """昭和63年1月1日基発第1号 (continuous work over two dates is the first date's), 第37条第4項 night 22:00–05:00."""
    (day,) = run(entry("2026-03-31 21:00"), exit_("2026-04-01 06:00")).days
    assert day.work_date == date(2026, 3, 31)
    assert (day.on_site_minutes, day.worked_minutes, day.night_minutes) == (540, 480, 420)


def test_the_break_comes_out_of_the_day_time_part_first() -> None:
    """第37条第4項: a shift entirely at night loses its break from night minutes; otherwise from day-time."""
    (night_only,) = run(entry("2026-06-01 22:00"), exit_("2026-06-02 05:00")).days
    assert (night_only.worked_minutes, night_only.night_minutes) == (360, 360)
    (mixed,) = run(entry("2026-06-03 21:30"), exit_("2026-06-04 05:00")).days
    assert (mixed.worked_minutes, mixed.night_minutes) == (390, 390)


def test_the_date_is_japans_whatever_zone_the_gate_stamped() -> None:
    """docs/domain.md "Dates are dates in Japan": 15:30 UTC on 1 April is 00:30 on 2 April in Japan."""
    events = [
        GateEvent("a", "T1", "E1", "S1", EventKind.ENTRY, datetime(2026, 4, 1, 15, 30, tzinfo=UTC)),
        GateEvent("b", "T1", "E1", "S1", EventKind.EXIT, datetime(2026, 4, 1, 20, 0, tzinfo=UTC)),
    ]
    (day,) = run(*events).days
    assert day.work_date == date(2026, 4, 2) and day.night_minutes == 270


def test_the_holiday_kind_comes_from_the_employers_calendar() -> None:
    """労働基準法第35条: the 法定休日 is the employer's; a national holiday is a 所定休日 when listed."""
    calendar = HolidayCalendar(legal_holiday_weekday=6, company_holidays=frozenset({date(2026, 4, 29)}))
    days = run(
        entry("2026-04-26 08:00"), exit_("2026-04-26 12:00"),  # Sunday
        entry("2026-04-29 08:00"), exit_("2026-04-29 12:00"),  # 昭和の日 in this calendar
        entry("2026-04-30 08:00"), exit_("2026-04-30 12:00"),
        calendars={"E1": calendar},
    ).days  # fmt: skip
    assert [d.holiday for d in days] == [HolidayKind.LEGAL, HolidayKind.COMPANY, None]


def test_a_naive_time_is_refused() -> None:
    """All times are aware (docs/domain.md "Dates are dates in Japan"): a naive one is a caller's error."""
    with pytest.raises(ValueError, match="timezone-aware"):
        GateEvent("n", "T1", "E1", "S1", EventKind.ENTRY, datetime(2026, 4, 1, 8))


@pytest.mark.parametrize(
    ("events", "kind", "reason"),
    [
        ([entry("2026-06-01 08:00")], FlagKind.MISSING_EXIT, "has no exit"),
        ([entry("2026-06-01 08:00"), entry("2026-06-02 08:00"), exit_("2026-06-02 17:00")], FlagKind.MISSING_EXIT,
         "2026-06-01 08:00 has no exit"),
        ([entry("2026-06-01 08:00"), exit_("2026-06-02 09:00")], FlagKind.OVER_24H, "over 24 hours"),
        ([entry("2026-06-01 08:00", "S1"), entry("2026-06-01 09:00", "S2"), exit_("2026-06-01 12:00", "S1"),
          exit_("2026-06-01 17:00", "S2")], FlagKind.OVERLAPPING_SITES, "on site S1 from 2026-06-01 08:00"),
        ([entry("2026-06-01 08:00", "S1"), entry("2026-06-01 08:00", "S2")], FlagKind.OVERLAPPING_SITES, "on site S"),
    ],
)  # fmt: skip
def test_a_day_with_bad_input_is_listed_with_its_reason_and_not_counted(
    events: list[GateEvent], kind: FlagKind, reason: str
) -> None:
    """Issue 16 "Bad input": a missing exit, a day over 24 h, two sites at once: flagged, not counted."""
    result = run(*events)
    flagged = [d for d in result.days if any(f.kind is kind for f in d.flags)]
    assert flagged and not any(d.counted for d in flagged)
    assert any(reason in f.reason for d in flagged for f in d.flags)
    assert all_ids(result) == {e.event_id for e in events}


@pytest.mark.parametrize(
    ("event", "kind", "reason"),
    [
        (exit_("2026-06-01 07:00"), FlagKind.EXIT_BEFORE_ENTRY, "has no entry before it"),
        (entry("2026-12-07 12:30"), FlagKind.FUTURE_EVENT, "after now"),
        (entry("2026-01-04 08:00"), FlagKind.BEFORE_SITE_OPENED, "before site S1 opened on 2026-01-05"),
        (entry("2026-06-01 08:00", site="S404"), FlagKind.UNKNOWN_SITE, "S404 has no site rule"),
    ],
)
def test_an_event_that_makes_no_day_is_rejected_with_its_reason(event: GateEvent, kind: FlagKind, reason: str) -> None:
    """Issue 16 "Bad input": exits before entries, events far in the future or before the site opened."""
    result = run(event)
    assert result.days == ()
    (flag,) = result.rejected
    assert (flag.kind, flag.event_ids) == (kind, (event.event_id,)) and reason in flag.reason


def test_an_event_a_few_minutes_ahead_of_the_server_clock_is_not_in_the_future() -> None:
    """Issue 16 "events far in the future": gate clocks drift; 10 minutes ahead is tolerated."""
    result = run(entry("2026-12-07 12:05"))
    assert result.rejected == () and len(result.days) == 1


def test_an_exit_before_the_entry_of_the_same_day_is_flagged_and_the_entry_misses_its_exit() -> None:
    """Issue 16 "Exits before entries": the exit is rejected and the entry's day flagged, both named."""
    result = run(exit_("2026-06-01 08:00"), entry("2026-06-01 17:00"))
    assert [f.kind for f in result.rejected] == [FlagKind.EXIT_BEFORE_ENTRY]
    (day,) = result.days
    assert [f.kind for f in day.flags] == [FlagKind.MISSING_EXIT]


def test_a_second_exit_the_same_date_is_the_days_last_exit_and_one_the_next_morning_is_not() -> None:
    """Issue 16 "last exit": a repeated exit scan extends the day; a stray exit on another date is flagged."""
    result = run(
        entry("2026-06-01 08:00"), exit_("2026-06-01 12:00"), exit_("2026-06-01 17:00"), exit_("2026-06-02 07:00")
    )
    (day,) = result.days
    assert day.last_exit == jst("2026-06-01 17:00") and day.counted
    assert [f.kind for f in result.rejected] == [FlagKind.EXIT_BEFORE_ENTRY]


def test_nothing_is_lost_every_event_is_in_a_day_or_a_flag() -> None:
    """Issue 16 "nothing lost": good, bad and unknown events together all come back."""
    events = [
        entry("2026-06-01 08:00"), exit_("2026-06-01 17:00"),
        entry("2026-06-02 08:00", "S2"), exit_("2026-06-02 07:00", "S2"),
        entry("2026-06-03 08:00", technician="T2"), entry("2026-06-03 09:00", "S2", technician="T2"),
        exit_("2027-01-01 09:00"), entry("2025-12-01 08:00"), entry("2026-06-04 08:00", "S404"),
    ]  # fmt: skip
    result = run(*events)
    assert all_ids(result) == {e.event_id for e in events}
    assert [d.counted for d in result.days] == [True, False, False, False]


def test_two_technicians_on_two_sites_at_once_and_one_after_the_other_are_not_overlaps() -> None:
    """Issue 16 "entries on two sites at once" is one technician's: others, or sites in turn, are fine."""
    result = run(
        entry("2026-06-01 08:00", "S1"), exit_("2026-06-01 12:00", "S1"),
        entry("2026-06-01 12:00", "S2"), exit_("2026-06-01 17:00", "S2"),
        entry("2026-06-01 08:00", "S2", technician="T2"), exit_("2026-06-01 17:00", "S2", technician="T2"),
    )  # fmt: skip
    assert [d.counted for d in result.days] == [True, True, True]


def test_four_legal_holidays_in_four_weeks_are_named_by_date() -> None:
    """労働基準法第35条第2項 (4 days off in 4 weeks): no weekly legal holiday; the dated ones are legal."""
    calendar = HolidayCalendar(legal_holiday_weekday=None, legal_holidays=frozenset({date(2026, 6, 3)}))
    days = run(
        entry("2026-06-03 08:00"), exit_("2026-06-03 12:00"),
        entry("2026-06-07 08:00"), exit_("2026-06-07 12:00"),  # a Sunday, ordinary here
        calendars={"E1": calendar},
    ).days  # fmt: skip
    assert [d.holiday for d in days] == [HolidayKind.LEGAL, None]
