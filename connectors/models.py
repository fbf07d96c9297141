"""Tables of the certificate connectors: trust list (with its audit trail), imported certificates,
quarantined records and import checkpoints."""

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class Instant(TypeDecorator[datetime]):
    """Naive UTC in the database, aware UTC in Python (the convention of every Genba ID table)."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return None if value is None else value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _at(*, nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(Instant(), nullable=nullable))


class TrustedIssuer(SQLModel, table=True):
    """A training body (実施機関) or record-keeping body whose signatures Genba ID accepts, for the
    courses it is registered to teach only (issue 12 item 9; 労働安全衛生法 §77: a 登録教習機関 is
    registered per course)."""

    issuer_id: str = Field(primary_key=True, max_length=100)
    name: str = Field(max_length=200)
    #: course codes (``course_code`` of the records) this body may certify; empty: none
    courses: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))
    added_at: datetime = _at()
    removed_at: datetime | None = _at(nullable=True)


class TrustedKey(SQLModel, table=True):
    """A signing key of a trusted issuer, valid for records issued in [valid_from, valid_until)."""

    kid: str = Field(primary_key=True, max_length=100)
    issuer_id: str = Field(foreign_key="trustedissuer.issuer_id", index=True, max_length=100)
    public_jwk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    valid_from: datetime | None = _at(nullable=True)
    valid_until: datetime | None = _at(nullable=True)
    added_at: datetime = _at()
    removed_at: datetime | None = _at(nullable=True)


class TrustEvent(SQLModel, table=True):
    """Append-only audit of trust list changes."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _at()
    action: str = Field(max_length=20)
    issuer_id: str = Field(max_length=100)
    kid: str | None = Field(default=None, max_length=100)
    actor: str = Field(max_length=100)
    detail: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Certificate(SQLModel, table=True):
    """An imported, verified certificate, with the signed form it was verified from."""

    __table_args__ = (UniqueConstraint("issuer_id", "certificate_number"),)

    id: int | None = Field(default=None, primary_key=True)
    technician_id: str = Field(max_length=14, index=True)
    issuer_id: str = Field(max_length=100)
    certificate_number: str = Field(max_length=100)
    source: str = Field(max_length=40)
    record_id: str = Field(max_length=200)
    course_kind: str = Field(max_length=20)
    course_code: str = Field(max_length=100)
    course_name: str = Field(max_length=200)
    training_body: str = Field(max_length=200)
    completed_on: date
    holder_name: str = Field(max_length=100)
    holder_birth_date: date
    signer_kid: str = Field(max_length=100)
    issued_at: datetime = _at()
    status: str = Field(default="valid", max_length=16)  # valid | revoked | superseded
    superseded_by: int | None = Field(default=None)
    #: the certificate number (same issuer) this one replaces, if it is a reissue (再交付)
    supersedes: str | None = Field(default=None, max_length=100)
    original: str = Field(sa_column=Column(Text, nullable=False))
    imported_at: datetime = _at()
    updated_at: datetime = _at()


class Quarantine(SQLModel, table=True):
    """A record that failed verification: never imported, kept with its reason for the operator."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _at()
    source: str = Field(max_length=40)
    run_id: str | None = Field(default=None, max_length=40, index=True)
    record_id: str | None = Field(default=None, max_length=200)
    issuer_id: str | None = Field(default=None, max_length=100)
    certificate_number: str | None = Field(default=None, max_length=100)
    technician_id: str | None = Field(default=None, max_length=14, index=True)
    reason_code: str = Field(max_length=40)
    reason: str = Field(max_length=300)
    original: str = Field(sa_column=Column(Text, nullable=False))


class ImportRun(SQLModel, table=True):
    """A bulk import; ``cursor`` is committed with each batch so an interrupted run resumes there."""

    id: str = Field(primary_key=True, max_length=40)
    source: str = Field(max_length=40, index=True)
    cursor: str | None = Field(default=None, max_length=200)
    status: str = Field(max_length=16)  # running | finished | failed
    counts: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = Field(default=None, max_length=300)
    started_at: datetime = _at()
    updated_at: datetime = _at()
