"""What the gate needs from the rest of Genba ID (wired by ``app``): the site's roster (a disclosure
the prime contractor is entitled to, recorded as such), recording entries and exits as work
history, and who operates a gate."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from starlette.requests import Request


@dataclass(frozen=True)
class RosterEntry:
    technician_id: str
    name: str
    name_kana: str
    employer_name: str | None
    tier: int | None
    role: str
    level: int | None
    photo: str | None  # data: URL


@dataclass(frozen=True)
class SiteName:
    """What people call a site (issue 15, item 6: names, not codes): the site's name and its prime
    contractor's (元請) trade name, shown on the gate and to the technician's wallet."""

    site_id: str
    name: str
    prime_name: str


@dataclass(frozen=True)
class Operator:
    """A signed-in employer staff user running a gate, with the sites they may run."""

    employer_id: str
    username: str
    sites: tuple[str, ...]
    #: the staff member's name as the gate shows it (not the login ``<事業者ID>-<login>``)
    display_name: str = ""
    #: site id -> its name and prime contractor, for the sites in ``sites``
    site_names: dict[str, SiteName] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Entry:
    event_key: str
    site_id: str
    technician_id: str
    direction: str  # in | out
    at: datetime
    #: how the check reached the server: online (a presentation answered now) or offline (uploaded later)
    source: str = "online"
    #: the server verified the presentation (issue 16: only verified entries count as 建退共 days)
    verified: bool = True


class GateDirectory(Protocol):
    def site_exists(self, site_id: str) -> bool: ...

    def site_name(self, site_id: str) -> SiteName | None: ...

    def roster(self, site_id: str, *, now: datetime, recipient_employer_id: str) -> list[RosterEntry]: ...

    def record(self, entry: Entry) -> bool:
        """Idempotent by ``event_key``: feeds 就業履歴 (work history); False when the register refuses
        the entry (a technician not assigned to the site), which must not affect other entries."""
        ...

    def operator(self, request: Request) -> Operator | None: ...
