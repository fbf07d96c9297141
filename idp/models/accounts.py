"""Account tables: technicians (技能者), employers (所属事業者), staff and operators.

Families follow the SQLModel habit ``XBase -> X(table=True) -> XPublic``.
"""

import enum
from datetime import date, datetime

from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from idp.models.types import UTCDateTime


class AccountKind(enum.StrEnum):
    technician = "technician"
    staff = "staff"
    operator = "operator"


class StaffRole(enum.StrEnum):
    admin = "admin"
    staff = "staff"


class Gender(enum.StrEnum):
    male = "male"
    female = "female"
    other = "other"
    unspecified = "unspecified"


class Account(SQLModel, table=True):
    """A sign-in principal. ``username`` is the normalised login name."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16, index=True)
    username: str = Field(max_length=80, unique=True)
    email: str | None = Field(default=None, max_length=254, unique=True)
    display_name: str = Field(max_length=100)
    password_hash: str = Field(max_length=200)
    password_changed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    totp_secret_enc: str | None = Field(default=None, max_length=300)
    totp_last_step: int | None = Field(default=None)
    webauthn_user_handle: bytes = Field(sa_column=Column(LargeBinary(64), nullable=False, unique=True))
    #: Public OIDC subject identifier (OIDC Core §8): random, stable, never reassigned.
    subject: str | None = Field(default=None, max_length=64, unique=True, index=True)
    disabled: bool = Field(default=False)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class TechnicianBase(SQLModel):
    technician_id: str = Field(min_length=14, max_length=14, unique=True)
    name: str = Field(max_length=100)
    name_kana: str = Field(max_length=100)
    birth_date: date
    gender: str = Field(max_length=16)
    address: str = Field(max_length=300)
    phone: str = Field(max_length=30)


class Technician(TechnicianBase, table=True):
    """技能者. ``birth_date`` and the face photo cannot change after registration."""

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", unique=True)
    face_photo: bytes | None = Field(default=None, sa_column=Column(LargeBinary(), nullable=True))
    face_photo_type: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class TechnicianPublic(TechnicianBase):
    """What the technician sees of their own record."""

    has_face_photo: bool


class EmployerBase(SQLModel):
    employer_id: str = Field(min_length=14, max_length=14, unique=True)
    trade_name: str = Field(max_length=200)
    address: str = Field(max_length=300)
    phone: str = Field(max_length=30)
    sole_proprietor: bool = False


class Employer(EmployerBase, table=True):
    """所属事業者. ``contact_substitution`` publishes the company's address/phone instead (rule 3): the
    default for all its technicians, which ``Affiliation.contact_substitution`` may override."""

    id: int | None = Field(default=None, primary_key=True)
    contact_substitution: bool = False
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class EmployerPublic(EmployerBase):
    pass


class EmployerStaff(SQLModel, table=True):
    """A staff user of an employer, with a role (admin or staff)."""

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", unique=True)
    employer_pk: int = Field(foreign_key="employer.id", index=True)
    role: str = Field(max_length=16)


class Affiliation(SQLModel, table=True):
    """A technician's affiliation to an employer; rows are never deleted (history kept).

    ``end_date`` is the last day of the affiliation (inclusive); ``None`` means current.
    """

    __table_args__ = (UniqueConstraint("technician_pk", "employer_pk", "start_date"),)

    id: int | None = Field(default=None, primary_key=True)
    technician_pk: int = Field(foreign_key="technician.id", index=True)
    employer_pk: int = Field(foreign_key="employer.id", index=True)
    start_date: date
    end_date: date | None = None
    #: Rule 3 for this technician: ``None`` follows the employer's default
    #: (``Employer.contact_substitution``), ``True``/``False`` overrides it (``register.substitution``).
    contact_substitution: bool | None = None
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
