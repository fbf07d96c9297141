"""Tables of the consent engine: consent requests (one per technician) and the append-only record."""

from datetime import UTC as utc
from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Column, DateTime, Integer
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTC(TypeDecorator[datetime]):
    """Naive-UTC storage, aware UTC in Python (same convention as the idp tables)."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=utc)


class ConsentRequest(SQLModel, table=True):
    """A request for field groups about one technician, for a purpose and a period.

    States (issue 4, item 4): ``awaiting`` (technician and/or employer still to decide) → ``active``,
    or ``rejected``, ``expired``, ``revoked``. Both parties approve, in either order.
    """

    id: str = Field(primary_key=True, max_length=40)
    batch_id: str = Field(max_length=40, index=True)
    requester_kind: str = Field(max_length=16)
    requester_id: str = Field(max_length=64, index=True)
    requester_org_kind: str | None = Field(default=None, max_length=16)
    requester_org_id: str | None = Field(default=None, max_length=64)
    technician_id: str = Field(max_length=14, index=True)
    employer_id: str | None = Field(default=None, max_length=14, index=True)
    groups: list[str] = Field(sa_column=Column(JSON, nullable=False))
    purpose: str = Field(max_length=500)
    period_start: date
    period_end: date
    state: str = Field(max_length=16, index=True)
    technician_decision: str | None = Field(default=None, max_length=16)
    technician_decided_at: datetime | None = Field(default=None, sa_column=Column(UTC(), nullable=True))
    employer_decision: str | None = Field(default=None, max_length=16)
    employer_decided_at: datetime | None = Field(default=None, sa_column=Column(UTC(), nullable=True))
    revoked_by: str | None = Field(default=None, max_length=80)
    supersedes: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(sa_column=Column(UTC(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTC(), nullable=False))


class ConsentRecord(SQLModel, table=True):
    """Append-only record of consent events and disclosures (APPI art. 29/30), chained by SHA-256.

    ``hash = SHA-256(prev_hash || canonical JSON of the entry)``; ``genba audit verify`` recomputes it.
    Records are kept at least three years; nothing in Genba ID deletes them.
    """

    seq: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    )
    at: datetime = Field(sa_column=Column(UTC(), nullable=False, index=True))
    kind: str = Field(max_length=40)
    recipient: str | None = Field(default=None, max_length=160)
    technician_id: str | None = Field(default=None, max_length=14, index=True)
    items: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    consent_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    actor: str | None = Field(default=None, max_length=160)
    detail: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class ChainHead(SQLModel, table=True):
    """One row: the last record's sequence and hash; locked while appending so the chain never forks."""

    id: int = Field(default=1, primary_key=True)
    last_seq: int = 0
    last_hash: str = Field(default="0" * 64, max_length=64)
