"""Japanese calendar dates for every package (docs/domain.md: periods, assignments and working days are
dates in Japan). Kept here rather than in one domain's ports so that idp, consent, wallet and app
share one definition without importing each other."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

JAPAN = ZoneInfo("Asia/Tokyo")


def local_date(now: datetime) -> date:
    """Calendar dates (consent periods, affiliations, assignments) are Japanese dates: a period ending
    on 27 November ends at midnight in Japan, not at 09:00 the next morning (UTC)."""
    return now.astimezone(JAPAN).date()


def add_years(start: date, years: int) -> date:
    """The same calendar date ``years`` later (29 February becomes 28 February)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)
