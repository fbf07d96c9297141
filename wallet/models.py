"""Tables of the credential issuer: issuer keys and certificates, issued credentials with their status
list index, credential offers (pre-authorized codes with tx_code), c_nonces and status lists."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Text, UniqueConstraint, text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class Moment(TypeDecorator[datetime]):
    """Naive UTC in the database, aware UTC in Python (the convention of every Genba ID table)."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return None if value is None else value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _at(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(Moment(), nullable=nullable, index=index))


class IssuerKey(SQLModel, table=True):
    """The pinned root (``kind`` root) and the credential-signing key with its certificate (``kind`` issuer)."""

    #: one root only, enforced by the database so concurrent first uses cannot create two
    __table_args__ = (
        Index(
            "ux_issuerkey_one_root",
            "kind",
            unique=True,
            sqlite_where=text("kind = 'root'"),
            postgresql_where=text("kind = 'root'"),
        ),
    )

    kid: str = Field(primary_key=True, max_length=100)
    kind: str = Field(max_length=16)
    private_enc: str = Field(sa_column=Column(Text, nullable=False))
    certificate_pem: str = Field(sa_column=Column(Text, nullable=False))
    public_jwk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _at()
    not_after: datetime = _at()


class StatusList(SQLModel, table=True):
    """An IETF Token Status List (2 bits per credential: 0 valid, 1 invalid, 2 suspended). The statuses
    themselves live on the credentials; the list is built from the non-zero ones."""

    id: str = Field(primary_key=True, max_length=40)
    bits: int = 2
    size: int
    allocated: int = 0
    created_at: datetime = _at()
    updated_at: datetime = _at()


class IssuedCredential(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("status_list_id", "status_index"),)

    id: str = Field(primary_key=True, max_length=40)
    technician_id: str = Field(max_length=14, index=True)
    configuration_id: str = Field(max_length=60)
    subject_ref: str | None = Field(default=None, max_length=160, index=True)  # certificate key or employer id
    status_list_id: str = Field(max_length=40)
    status_index: int
    status: int = 0
    holder_jkt: str = Field(max_length=64)
    notification_id: str = Field(max_length=40, index=True)
    issued_at: datetime = _at()
    expires_at: datetime = _at()
    notified: str | None = Field(default=None, max_length=30)
    status_reason: str | None = Field(default=None, max_length=200)


class CredentialOffer(SQLModel, table=True):
    """An OpenID4VCI offer by reference; the pre-authorized code and tx_code are stored hashed."""

    id: str = Field(primary_key=True, max_length=60)
    technician_id: str = Field(max_length=14, index=True)
    configuration_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))
    pre_authorized_code_hash: str = Field(max_length=64, unique=True)
    tx_code_hash: str | None = Field(default=None, max_length=64)
    tx_code_attempts: int = 0
    created_at: datetime = _at()
    expires_at: datetime = _at()
    fetched_at: datetime | None = _at(nullable=True)
    redeemed_at: datetime | None = _at(nullable=True)


class WalletNonce(SQLModel, table=True):
    """A c_nonce from the nonce endpoint; usable until it expires or a credential request consumes it."""

    value_hash: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = _at(index=True)
    used_at: datetime | None = _at(nullable=True)
