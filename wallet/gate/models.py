"""Tables of the gate: site requirements, presentation requests, entry/exit events and refusals."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from wallet.models import Moment


def _at(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(Moment(), nullable=nullable, index=index))


class SiteRequirement(SQLModel, table=True):
    """What must be shown at a site for a kind of work, as an OpenID4VP DCQL query."""

    __table_args__ = (UniqueConstraint("site_id", "work_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: str = Field(max_length=40, index=True)
    work_kind: str = Field(max_length=40)
    label_ja: str = Field(max_length=100)
    label_en: str = Field(max_length=100)
    dcql: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    updated_by: str = Field(max_length=80)
    updated_at: datetime = _at()


class GateRequest(SQLModel, table=True):
    """An online presentation request (request by reference, direct_post), answered at most once."""

    id: str = Field(primary_key=True, max_length=60)
    site_id: str = Field(max_length=40)
    gate_id: str = Field(max_length=40)
    work_kind: str = Field(max_length=40)
    direction: str = Field(max_length=8)  # in | out
    nonce: str = Field(max_length=64)
    state: str = Field(max_length=64)
    created_at: datetime = _at()
    expires_at: datetime = _at()
    answered_at: datetime | None = _at(nullable=True)
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    #: the gate staff who asked (the entry it makes is recorded under their name)
    created_by: str | None = Field(default=None, max_length=80)


class GateEvent(SQLModel, table=True):
    """A successful check: an entry or exit. ``event_key`` makes recording idempotent.

    Work history only from verified presentations (issue 12): the row carries what the server itself
    verified — the presentation's ``nonce`` (used once: a second event answering the same challenge is
    a replay), the digest of the CCUS card that was shown, and ``evidence`` (every credential's digest,
    holder key thumbprint and status entry, the key-binding audience and ``iat``, when and how it was
    verified) — and the gate staff who recorded it."""

    id: int | None = Field(default=None, primary_key=True)
    event_key: str = Field(max_length=80, unique=True)
    site_id: str = Field(max_length=40, index=True)
    gate_id: str = Field(max_length=40)
    technician_id: str = Field(max_length=14, index=True)
    direction: str = Field(max_length=8)
    at: datetime = _at(index=True)
    mode: str = Field(max_length=8)  # online | offline | reader
    received_at: datetime = _at()
    nonce: str | None = Field(default=None, max_length=64, unique=True)
    #: SHA-256 (hex) of the issuer-signed JWT of the card presented
    credential_digest: str | None = Field(default=None, max_length=64)
    evidence: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    recorded_by: str | None = Field(default=None, max_length=80)


class GateRefusal(SQLModel, table=True):
    """A refused check, recorded with its reason (never silently dropped)."""

    id: int | None = Field(default=None, primary_key=True)
    site_id: str = Field(max_length=40, index=True)
    gate_id: str = Field(max_length=40)
    at: datetime = _at()
    reason_code: str = Field(max_length=40)
    reason: str = Field(max_length=300)
    technician_id: str | None = Field(default=None, max_length=14)
    mode: str = Field(max_length=8)
    #: the gate's id for this check, so an upload retried after a lost reply is recorded once
    event_key: str | None = Field(default=None, max_length=80, unique=True)
    #: the challenge's nonce when known: a presentation answering it again is a replay
    nonce: str | None = Field(default=None, max_length=64, index=True)
    recorded_by: str | None = Field(default=None, max_length=80)
