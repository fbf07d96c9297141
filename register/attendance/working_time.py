"""Working time per technician, Japan date and site from the gate's entry and exit events (issue 16;
docs/domain.md "Working time, overtime and 建退共 days").

- A day is the Japan date of its first entry; a shift that crosses midnight belongs to that date (the
  labour ministry's reading of 労働基準法第32条, 昭和63年1月1日基発第1号: 継続勤務が二暦日にわたる場合は
  始業時刻の属する日の労働). Time on site runs from the first entry to the last exit.
- Break (労働基準法第34条): none on a day of 6 h or less on site (the statute asks none and the gate cannot
  tell); otherwise the site's rule (default 60 min), but never less than the statute's minimum for the
  working time it leaves: 45 min when on site up to 8 h 45 min, 60 min beyond.
- Night (労働基準法第37条第4項): minutes worked between 22:00 and 05:00 Japan time; the break is taken out
  of the day-time part first, so no night minute is lost to it while day-time minutes remain.
- Nothing is dropped: every event either belongs to a day (``WorkDay.event_ids``) or is in a flag of
  ``WorkingTime.rejected``; a day with a flag is listed with its reasons and not counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from common.japan_time import JAPAN, local_date
from register.attendance.gate_events import (
    EventKind,
    Flag,
    FlagKind,
    GateEvent,
    HolidayCalendar,
    HolidayKind,
    SiteRule,
)

#: How far ahead of ``now`` an event may be stamped (gate clocks drift) before it is "far in the future".
FUTURE_TOLERANCE = timedelta(minutes=10)
MAX_DAY = timedelta(hours=24)
NIGHT_START, NIGHT_END = time(22), time(5)


@dataclass(frozen=True)
class WorkDay:
    """One technician on one site on one Japan date. Minutes are computed from what is known; a day with
    ``flags`` is shown with its reasons but ``counted`` is false, so no total includes it silently."""

    technician: str
    employer: str
    site: str
    work_date: date
    first_entry: datetime
    last_exit: datetime | None
    on_site_minutes: int
    break_minutes: int
    worked_minutes: int
    night_minutes: int
    holiday: HolidayKind | None
    verified: bool
    event_ids: tuple[str, ...]
    flags: tuple[Flag, ...] = ()

    @property
    def counted(self) -> bool:
        return not self.flags


@dataclass(frozen=True)
class WorkingTime:
    """The days, and the events that make no day (future, before the site opened, unknown site, an exit
    with no entry), each with its reason."""

    days: tuple[WorkDay, ...]
    rejected: tuple[Flag, ...]


def break_minutes(on_site_minutes: int, site_break_minutes: int) -> int:
    """The break taken out of a day's time on site (労働基準法第34条; the rule in the module docstring)."""
    if on_site_minutes <= 6 * 60:
        return 0
    statutory = 45 if on_site_minutes <= 8 * 60 + 45 else 60
    return min(on_site_minutes, max(site_break_minutes, statutory))


def night_minutes(start: datetime, end: datetime, break_taken: int) -> int:
    """Minutes between 22:00 and 05:00 Japan time in [start, end), less the part of the break that the
    day-time part cannot hold (労働基準法第37条第4項)."""
    start, end = start.astimezone(JAPAN), end.astimezone(JAPAN)
    night = timedelta()
    day = start.date() - timedelta(days=1)
    while day <= end.date():
        window_start = datetime.combine(day, NIGHT_START, JAPAN)
        window_end = datetime.combine(day + timedelta(days=1), NIGHT_END, JAPAN)
        overlap = min(end, window_end) - max(start, window_start)
        night += max(overlap, timedelta())
        day += timedelta(days=1)
    night_min = _minutes(night)
    day_min = _minutes(end - start) - night_min
    return max(0, night_min - max(0, break_taken - day_min))


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


def _jst(at: datetime) -> str:
    return at.astimezone(JAPAN).strftime("%Y-%m-%d %H:%M")


@dataclass
class _DayDraft:
    """The events of one technician, site and date while they are being paired."""

    employer: str
    entries: list[GateEvent] = field(default_factory=list)
    exits: list[GateEvent] = field(default_factory=list)
    unclosed: list[GateEvent] = field(default_factory=list)


_Key = tuple[str, str, date]  # technician, site, Japan date of the first entry


def _reject_event(event: GateEvent, sites: Mapping[str, SiteRule], now: datetime) -> Flag | None:
    """Issue 16, "Bad input": an event of an unknown site, stamped far in the future or before its site
    opened makes no day."""
    rule = sites.get(event.site)
    ids = (event.event_id,)
    if rule is None:
        return Flag(FlagKind.UNKNOWN_SITE, f"site {event.site} has no site rule", ids)
    if event.at > now + FUTURE_TOLERANCE:
        return Flag(FlagKind.FUTURE_EVENT, f"{event.kind} at {_jst(event.at)} is after now ({_jst(now)})", ids)
    if local_date(event.at) < rule.opened_on:
        reason = f"{event.kind} on {local_date(event.at)} is before site {event.site} opened on {rule.opened_on}"
        return Flag(FlagKind.BEFORE_SITE_OPENED, reason, ids)
    return None


def _pair(events: list[GateEvent], drafts: dict[_Key, _DayDraft], rejected: list[Flag]) -> None:
    """Pair one technician's events on one site, in time order. An entry opens (or, the same date, stays
    in) a day; an exit closes the open day, or is a later exit of the day last closed when on the same
    Japan date as its previous exit; any other exit has no entry before it."""
    open_key: _Key | None = None
    last_closed: _Key | None = None
    for event in events:
        when = local_date(event.at)
        if event.kind is EventKind.ENTRY:
            if open_key is not None and open_key[2] != when:
                drafts[open_key].unclosed.append(drafts[open_key].entries[-1])
                open_key = None
            if open_key is None:
                open_key = (event.technician, event.site, when)
            drafts.setdefault(open_key, _DayDraft(event.employer)).entries.append(event)
        elif open_key is not None:
            drafts[open_key].exits.append(event)
            last_closed, open_key = open_key, None
        elif last_closed is not None and local_date(drafts[last_closed].exits[-1].at) == when:
            drafts[last_closed].exits.append(event)
        else:
            reason = f"exit at {_jst(event.at)} on site {event.site} has no entry before it"
            rejected.append(Flag(FlagKind.EXIT_BEFORE_ENTRY, reason, (event.event_id,)))
    if open_key is not None:
        drafts[open_key].unclosed.append(drafts[open_key].entries[-1])


def _own_flags(draft: _DayDraft, first: datetime, last: datetime | None, now: datetime) -> list[Flag]:
    flags: list[Flag] = []
    for entry in draft.unclosed:
        still = " (still on site?)" if now - entry.at < MAX_DAY else ""
        reason = f"entry at {_jst(entry.at)} has no exit{still}"
        flags.append(Flag(FlagKind.MISSING_EXIT, reason, (entry.event_id,)))
    if last is not None and last - first > MAX_DAY:
        reason = f"first entry {_jst(first)} to last exit {_jst(last)} is over 24 hours"
        flags.append(Flag(FlagKind.OVER_24H, reason, tuple(e.event_id for e in draft.entries + draft.exits)))
    return flags


def _overlaps(spans: list[tuple[_Key, datetime, datetime]]) -> dict[_Key, list[Flag]]:
    """Issue 16: "entries on two sites at once" — one technician's days on different sites whose spans
    (first entry to last exit; the entry alone when the exit is missing) meet. ``spans`` are sorted by
    technician and start, so each day is compared only with the days that start before it ends."""
    found: dict[_Key, list[Flag]] = defaultdict(list)
    for i, (key, start, end) in enumerate(spans):
        for other, other_start, _ in spans[i + 1 :]:
            if other[0] != key[0] or (other_start >= end and other_start != start):
                break
            if other[1] != key[1]:
                reason = f"on site {key[1]} from {_jst(start)} and on site {other[1]} from {_jst(other_start)}"
                flag = Flag(FlagKind.OVERLAPPING_SITES, reason, ())
                found[key].append(flag)
                found[other].append(flag)
    return found


def working_time(
    events: Iterable[GateEvent],
    sites: Mapping[str, SiteRule],
    calendars: Mapping[str, HolidayCalendar],
    now: datetime,
) -> WorkingTime:
    """Issue 16's working time: ``calendars`` by employer (a default ``HolidayCalendar`` when absent)."""
    rejected: list[Flag] = []
    streams: dict[tuple[str, str], list[GateEvent]] = defaultdict(list)
    for event in events:
        flag = _reject_event(event, sites, now)
        if flag is not None:
            rejected.append(flag)
        else:
            streams[(event.technician, event.site)].append(event)
    drafts: dict[_Key, _DayDraft] = {}
    for stream in streams.values():
        _pair(sorted(stream, key=lambda e: (e.at, e.kind is EventKind.EXIT, e.event_id)), drafts, rejected)
    spans = []
    for key, draft in drafts.items():
        first = min(e.at for e in draft.entries)
        last = max((e.at for e in draft.exits), default=None)
        spans.append((key, first, last or first))
    overlaps = _overlaps(sorted(spans, key=lambda s: (s[0][0], s[1], s[0])))
    days = [_day(key, draft, sites[key[1]], calendars, overlaps.get(key, []), now) for key, draft in drafts.items()]
    days.sort(key=lambda d: (d.technician, d.work_date, d.first_entry, d.site))
    return WorkingTime(tuple(days), tuple(rejected))


def _day(
    key: _Key,
    draft: _DayDraft,
    rule: SiteRule,
    calendars: Mapping[str, HolidayCalendar],
    overlaps: list[Flag],
    now: datetime,
) -> WorkDay:
    technician, site, work_date = key
    first = min(e.at for e in draft.entries).astimezone(JAPAN)
    last_at = max((e.at for e in draft.exits), default=None)
    last = last_at.astimezone(JAPAN) if last_at is not None else None
    on_site = _minutes(last - first) if last is not None else 0
    taken = break_minutes(on_site, rule.break_minutes)
    night = night_minutes(first, last, taken) if last is not None else 0
    calendar = calendars.get(draft.employer, HolidayCalendar())
    events = sorted(draft.entries + draft.exits, key=lambda e: (e.at, e.event_id))
    return WorkDay(
        technician=technician,
        employer=draft.employer,
        site=site,
        work_date=work_date,
        first_entry=first,
        last_exit=last,
        on_site_minutes=on_site,
        break_minutes=taken,
        worked_minutes=on_site - taken,
        night_minutes=night,
        holiday=calendar.holiday(work_date),
        verified=any(e.verified for e in draft.entries),
        event_ids=tuple(e.event_id for e in events),
        flags=tuple(_own_flags(draft, first, last, now) + overlaps),
    )
