"""What the attendance rules read and the reasons they give (docs/domain.md "Working time, overtime and
建退共 days"): gate events, each site's rule, each employer's holiday calendar, and the flags that set an
event or a day apart instead of counting it silently (issue 16, "Bad input").

Public holidays: no maintained Japanese holiday library is installed, and none is needed for the statute:
法定休日 (労働基準法第35条) is the day the employer's rules name, and national holidays are the employer's
所定休日 only when its calendar lists them (``HolidayCalendar.company_holidays``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

#: 労働基準法第34条: at least 45 minutes' break over 6 hours of work, at least 60 over 8 hours.
DEFAULT_BREAK_MINUTES = 60


class EventKind(StrEnum):
    ENTRY = "entry"
    EXIT = "exit"


class EventSource(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class HolidayKind(StrEnum):
    """法定休日 (the weekly rest day of 労働基準法第35条; work on it is 休日労働) or 所定休日 (another day off
    in the employer's calendar, a national holiday for example; work on it is ordinary working time)."""

    LEGAL = "legal"
    COMPANY = "company"


class FlagKind(StrEnum):
    """Why an event or a day is not counted (issue 16, "Bad input ... flagged with a reason")."""

    MISSING_EXIT = "missing_exit"
    EXIT_BEFORE_ENTRY = "exit_before_entry"
    OVERLAPPING_SITES = "overlapping_sites"
    FUTURE_EVENT = "future_event"
    BEFORE_SITE_OPENED = "before_site_opened"
    OVER_24H = "over_24h"
    UNKNOWN_SITE = "unknown_site"


@dataclass(frozen=True)
class GateEvent:
    """One entry or exit recorded by a gate (就業履歴's source). ``at`` must be timezone-aware."""

    event_id: str
    technician: str
    employer: str
    site: str
    kind: EventKind
    at: datetime
    verified: bool = True
    source: EventSource = EventSource.ONLINE

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError(f"gate event {self.event_id}: 'at' must be timezone-aware")


@dataclass(frozen=True)
class SiteRule:
    """The prime contractor's settings for one site: the day it opened (Japan date) and its break."""

    site: str
    opened_on: date
    break_minutes: int = DEFAULT_BREAK_MINUTES

    def __post_init__(self) -> None:
        if not 0 <= self.break_minutes <= 240:
            raise ValueError(f"site {self.site}: break_minutes must be between 0 and 240")


@dataclass(frozen=True)
class HolidayCalendar:
    """An employer's days off (労働基準法第35条): the weekday of its 法定休日 (0 = Monday … 6 = Sunday,
    Sunday by default; None when it has no fixed weekday), legal holidays named by date (an employer on
    4 days in 4 weeks under 第35条第2項 lists them here), and its other days off (所定休日), national
    holidays included when the employer closes on them."""

    legal_holiday_weekday: int | None = 6
    legal_holidays: frozenset[date] = field(default_factory=frozenset)
    company_holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.legal_holiday_weekday is not None and not 0 <= self.legal_holiday_weekday <= 6:
            raise ValueError("legal_holiday_weekday must be 0 (Monday) to 6 (Sunday) or None")

    def holiday(self, day: date) -> HolidayKind | None:
        if day.weekday() == self.legal_holiday_weekday or day in self.legal_holidays:
            return HolidayKind.LEGAL
        if day in self.company_holidays:
            return HolidayKind.COMPANY
        return None


@dataclass(frozen=True)
class Flag:
    """A reason not to count: which events it concerns and, in words, why."""

    kind: FlagKind
    reason: str
    event_ids: tuple[str, ...]
