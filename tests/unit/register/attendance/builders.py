"""Small builders for the attendance rule tests: gate events in Japan time, work days and months."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from itertools import count

from common.japan_time import JAPAN
from register.attendance.gate_events import EventKind, Flag, FlagKind, GateEvent, HolidayKind, SiteRule
from register.attendance.overtime import MonthHours
from register.attendance.working_time import WorkDay

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=JAPAN)
SITES = {
    "S1": SiteRule("S1", opened_on=date(2026, 1, 5)),
    "S2": SiteRule("S2", opened_on=date(2026, 1, 5)),
    "S30": SiteRule("S30", opened_on=date(2026, 1, 5), break_minutes=30),
    "S90": SiteRule("S90", opened_on=date(2026, 1, 5), break_minutes=90),
}
_ids = count(1)


def jst(text: str) -> datetime:
    """'2026-03-31 21:00' in Japan time."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=JAPAN)


def entry(at: str, site: str = "S1", technician: str = "T1", verified: bool = True) -> GateEvent:
    return GateEvent(f"e{next(_ids)}", technician, "E1", site, EventKind.ENTRY, jst(at), verified)


def exit_(at: str, site: str = "S1", technician: str = "T1") -> GateEvent:
    return GateEvent(f"x{next(_ids)}", technician, "E1", site, EventKind.EXIT, jst(at))


def work_day(
    on: date,
    worked_hours: float,
    *,
    site: str = "S1",
    holiday: HolidayKind | None = None,
    employer: str = "E1",
    technician: str = "T1",
    flagged: bool = False,
) -> WorkDay:
    """A day as working_time makes it, with ``worked_hours`` of work (break already taken out)."""
    worked = round(worked_hours * 60)
    start = datetime(on.year, on.month, on.day, 8, tzinfo=JAPAN)
    flags = (Flag(FlagKind.MISSING_EXIT, "no exit", ("x",)),) if flagged else ()
    return WorkDay(technician, employer, site, on, start, None, worked, 0, worked, 0, holiday, True, ("x",), flags)


def months(start: date, hours: Sequence[float], holiday_hours: Sequence[float] | None = None) -> list[MonthHours]:
    """Consecutive months from ``start`` with the given overtime (and holiday work) in hours."""
    holiday_hours = holiday_hours or [0] * len(hours)
    result, year, month = [], start.year, start.month
    for over, holiday in zip(hours, holiday_hours, strict=True):
        over_min, holiday_min = round(over * 60), round(holiday * 60)
        result.append(MonthHours("T1", "E1", date(year, month, 1), 0, over_min, holiday_min, 0))
        year, month = year + month // 12, month % 12 + 1
    return result
