"""The typed interfaces between the consent engine and the rest of Genba ID.

- :class:`ConsentPort` is what idp (pages, data API, tokens) calls; ``app`` wires
  :class:`consent.service.ConsentService` behind it.
- :class:`Directory` is what the consent engine needs to know about people, companies and
  sites; idp implements it and ``app`` passes it in.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal, Protocol

from common.errors import GenbaError, Message, bilingual

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlmodel import Session

PartyKind = Literal["technician", "company", "orderer", "client", "operator"]


class ConsentState(enum.StrEnum):
    """A consent request's state (issue 4, item 4): ``awaiting`` (technician and/or employer still to
    decide) → ``active`` once both approved, or ``rejected``, ``expired``, ``revoked``
    (``consent.lifecycle.state_at``). Stored as its string value."""

    awaiting = "awaiting"
    active = "active"
    rejected = "rejected"
    expired = "expired"
    revoked = "revoked"


class PartyDecision(enum.StrEnum):
    """What the technician or the employer decided on a request (docs/domain.md rule 1: both approve)."""

    approved = "approved"
    refused = "refused"


@dataclass(frozen=True)
class Party:
    """Who asks or acts. A client may act for a company (its owner)."""

    kind: PartyKind
    id: str
    acting_for: Party | None = None
    role: str | None = None  # employer staff role (admin | staff)

    @property
    def organisation(self) -> Party:
        return self.acting_for or self

    def label(self) -> str:
        return f"{self.kind}:{self.id}" + (
            f" for {self.acting_for.kind}:{self.acting_for.id}" if self.acting_for else ""
        )


@dataclass(frozen=True)
class Relationship:
    """Facts about a principal and a technician at one instant (computed by the directory)."""

    is_self: bool = False
    current_employer: bool = False
    #: active sites where the principal is the prime or an upper-tier company and the technician is assigned
    upper_tier_sites: tuple[str, ...] = ()
    #: active projects of the orderer where the technician is assigned
    orderer_sites: tuple[str, ...] = ()
    #: sites where the principal only registered the technician on someone's behalf (代行): no view
    proxy_sites: tuple[str, ...] = ()
    employer_id: str | None = None
    contact_substitution: bool = False


@dataclass(frozen=True)
class Reason:
    code: str
    ja: str
    en: str


@dataclass(frozen=True)
class Decision:
    """The outcome for one disclosure request (issue 4, item 2)."""

    allowed: frozenset[str]
    rules: tuple[str, ...]
    missing: dict[str, Reason] = field(default_factory=dict)
    #: ``None``: the whole work history; otherwise only these sites' records
    work_history_sites: tuple[str, ...] | None = None
    contact_substituted: bool = False
    consent_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConsentView:
    """A consent request as shown on pages and in the API (ISO/IEC 29184 notice contents)."""

    id: str
    requester: str
    requester_name: str
    technician_id: str
    technician_name: str
    employer_id: str | None
    groups: tuple[str, ...]
    purpose: str
    period_start: date
    period_end: date
    state: ConsentState
    technician_decision: PartyDecision | None
    employer_decision: PartyDecision | None
    created_at: datetime


class ConsentError(GenbaError, ValueError):
    """A consent operation was refused; ``code`` is stable, ``ja``/``en`` readable (``consent.*``
    in the catalogue)."""

    def __init__(self, code: str, ja: Message | str, en: str | None = None, status: int = 400) -> None:
        super().__init__(bilingual(ja, en), code=code, status=status)


class Directory(Protocol):
    def technician_exists(self, technician_id: str) -> bool: ...

    def technician_name(self, technician_id: str) -> str: ...

    def current_employer(self, technician_id: str, *, on: date) -> str | None: ...

    def technicians_of(self, employer_id: str, *, on: date) -> list[str]: ...

    def party_exists(self, party: Party) -> bool: ...

    def party_name(self, party: Party) -> str: ...

    def relationship(
        self, principal: Party, technician_id: str, *, now: datetime, connection: Connection | None = None
    ) -> Relationship:
        """The facts at ``now``; read through ``connection`` when given (the consent engine's, on the
        same database: one connection per decision), else through the directory's own."""
        ...


class ConsentPort(Protocol):
    def decide(
        self,
        principal: Party,
        technician_id: str,
        groups: tuple[str, ...],
        *,
        now: datetime,
        consent_ids: tuple[str, ...] | None = None,
    ) -> Decision: ...

    def request(
        self,
        requester: Party,
        technician_ids: list[str],
        groups: list[str],
        purpose: str,
        period_start: date,
        period_end: date,
        *,
        now: datetime,
        employer_initiated: bool = False,
    ) -> list[ConsentView]: ...

    def approve(self, consent_id: str, actor: Party, *, now: datetime) -> ConsentView: ...

    def refuse(self, consent_id: str, actor: Party, *, now: datetime) -> ConsentView: ...

    def revoke(self, consent_id: str, actor: Party, *, now: datetime) -> ConsentView: ...

    def narrow(
        self, consent_id: str, actor: Party, groups: list[str], period_end: date, *, now: datetime
    ) -> ConsentView: ...

    def get(self, consent_id: str, *, now: datetime) -> ConsentView | None: ...

    def for_technician(self, technician_id: str, *, now: datetime) -> list[ConsentView]: ...

    def for_employer(self, employer_id: str, *, now: datetime) -> list[ConsentView]: ...

    def active(self, consent_ids: tuple[str, ...], *, now: datetime) -> bool: ...

    def record_disclosure(
        self,
        recipient: Party,
        technician_id: str,
        items: list[str],
        decision: Decision,
        *,
        now: datetime,
        channel: str,
        session: Session | None = None,
    ) -> None: ...

    def records_for_technician(self, technician_id: str) -> list[dict[str, object]]: ...

    def receipt(self, consent_id: str, *, now: datetime) -> dict[str, object] | None: ...

    def receipt_for(self, consent_id: str, reader: Party, *, now: datetime) -> dict[str, object] | None: ...

    def verify_records(self) -> tuple[bool, int, str | None]: ...
