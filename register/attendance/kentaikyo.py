"""建退共 (建設業退職金共済) days per technician, employer and month (issue 16; docs/domain.md "Working time,
overtime and 建退共 days"): the employer reports, for each month, the days each of its technicians worked,
and pays a contribution (掛金) for each. A day counts once, however many sites the technician entered,
when at least one of its site-days has a verified entry and no flag. Every other site-day of the month
is listed apart with its reason, so the employer decides instead of the code guessing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from register.attendance.working_time import WorkDay


@dataclass(frozen=True)
class SetApart:
    """A site-day not counted: ``reasons`` are its flags' reasons, or that no entry was verified."""

    work_date: date
    site: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class KentaikyoMonth:
    technician: str
    employer: str
    month: date
    days: tuple[date, ...]
    set_apart: tuple[SetApart, ...]

    @property
    def day_count(self) -> int:
        return len(self.days)


def kentaikyo_days(days: Iterable[WorkDay]) -> tuple[KentaikyoMonth, ...]:
    """The months of every technician and employer in ``days``, ordered by technician, employer and month."""
    counted: dict[tuple[str, str, date], set[date]] = defaultdict(set)
    apart: dict[tuple[str, str, date], list[SetApart]] = defaultdict(list)
    for day in days:
        key = (day.technician, day.employer, day.work_date.replace(day=1))
        if day.counted and day.verified:
            counted[key].add(day.work_date)
            continue
        reasons = tuple(flag.reason for flag in day.flags) or ("no verified entry",)
        apart[key].append(SetApart(day.work_date, day.site, reasons))
    return tuple(
        KentaikyoMonth(
            technician=key[0],
            employer=key[1],
            month=key[2],
            days=tuple(sorted(counted.get(key, ()))),
            set_apart=tuple(sorted(apart.get(key, []), key=lambda s: (s.work_date, s.site))),
        )
        for key in sorted(counted.keys() | apart.keys())
    )
