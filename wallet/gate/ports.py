"""What the gate needs from the rest of Genba ID (wired by ``app``): the site's roster (a disclosure
the prime contractor is entitled to, recorded as such), recording entries and exits as work
history, and who operates a gate."""

from __future__ import annotations

from dataclasses import dataclass
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
class Operator:
    """A signed-in employer staff user running a gate, with the sites they may run."""

    employer_id: str
    username: str
    sites: tuple[str, ...]


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

    def roster(self, site_id: str, *, now: datetime, recipient_employer_id: str) -> list[RosterEntry]: ...

    def record(self, entry: Entry) -> bool:
        """Idempotent by ``event_key``: feeds 就業履歴 (work history); False when the register refuses
        the entry (a technician not assigned to the site), which must not affect other entries."""
        ...

    def operator(self, request: Request) -> Operator | None: ...
