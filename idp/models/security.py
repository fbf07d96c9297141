"""Tables for authentication state: sessions, passkeys, recovery codes, throttling, audit."""

from datetime import datetime

from sqlalchemy import JSON, Column, LargeBinary
from sqlmodel import Field, SQLModel

from idp.models.types import UTCDateTime


class WebSession(SQLModel, table=True):
    """A server-side browser session. Only the SHA-256 of the cookie value is stored.

    ``state`` is ``pending`` between password and second factor, ``active`` once signed in.
    """

    id_hash: str = Field(primary_key=True, max_length=64)
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    state: str = Field(max_length=16)
    #: OIDC session id (``sid`` claim, Front/Back-Channel Logout §2), not derived from the cookie.
    sid: str | None = Field(default=None, max_length=64, index=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_seen_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    auth_time: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    amr: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    acr: str | None = Field(default=None, max_length=80)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=300)
    data: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class Passkey(SQLModel, table=True):
    """A WebAuthn credential (passkey) registered to an account."""

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    credential_id: bytes = Field(sa_column=Column(LargeBinary(1024), nullable=False, unique=True))
    public_key: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    sign_count: int = 0
    backed_up: bool = False
    device_type: str = Field(max_length=32)
    transports: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    label: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class RecoveryCode(SQLModel, table=True):
    """A one-time recovery code, stored as SHA-256 (the codes are high-entropy)."""

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    code_hash: str = Field(max_length=64, unique=True)
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class ThrottleEntry(SQLModel, table=True):
    """Failed-attempt counter for one key (an account or a client address)."""

    key: str = Field(primary_key=True, max_length=200)
    failures: int = 0
    first_failure_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    blocked_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class AuditEvent(SQLModel, table=True):
    """An append-only security event (sign-in, enrolment, password change...). Never holds secrets."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    event: str = Field(max_length=60, index=True)
    outcome: str = Field(max_length=16)
    account_id: int | None = Field(default=None, index=True)
    subject: str | None = Field(default=None, max_length=80)
    ip: str | None = Field(default=None, max_length=64)
    detail: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
