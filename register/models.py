"""The CCUS register beyond accounts: technician record details, sites and their tiers (施工体制),
site assignments, work history (就業履歴) and orderers (発注者)."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from idp.models.types import UTCDateTime


class TechnicianRecord(SQLModel, table=True):
    """技能者の登録情報 that are not part of the account: level, occupations, insurance, qualifications..."""

    technician_pk: int = Field(primary_key=True, foreign_key="technician.id")
    level: int = Field(default=1, ge=1, le=4)  # 1 白 2 青 3 銀 4 金
    occupations: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    health_insurance: str = Field(default="unknown", max_length=20)  # enrolled | exempt | not_enrolled | unknown
    pension_insurance: str = Field(default="unknown", max_length=20)
    employment_insurance: str = Field(default="unknown", max_length=20)
    kentaikyo: bool = False  # 建退共 membership
    qualifications: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    education: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    training: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    awards: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Orderer(SQLModel, table=True):
    """発注者: a public or private client that orders construction projects."""

    id: int | None = Field(default=None, primary_key=True)
    orderer_code: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=200)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Site(SQLModel, table=True):
    """現場: registered by its prime contractor (元請), which gets the 現場ID."""

    id: int | None = Field(default=None, primary_key=True)
    site_id: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=200)
    address: str = Field(default="", max_length=300)
    prime_employer_pk: int = Field(foreign_key="employer.id", index=True)
    orderer_pk: int | None = Field(default=None, foreign_key="orderer.id", index=True)
    starts_on: date
    ends_on: date | None = None
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class SiteCompany(SQLModel, table=True):
    """施工体制: a company on a site at a tier (0 = prime), under its parent; ``registered_by`` records
    a company that entered it on the other's behalf (代行), which grants no view."""

    __table_args__ = (UniqueConstraint("site_pk", "employer_pk"),)

    id: int | None = Field(default=None, primary_key=True)
    site_pk: int = Field(foreign_key="site.id", index=True)
    employer_pk: int = Field(foreign_key="employer.id", index=True)
    tier: int = Field(ge=0, le=20)
    parent_employer_pk: int | None = Field(default=None, foreign_key="employer.id")
    registered_by_employer_pk: int | None = Field(default=None, foreign_key="employer.id")


class SiteAssignment(SQLModel, table=True):
    """A technician assigned to a site through a company, for a period."""

    id: int | None = Field(default=None, primary_key=True)
    site_pk: int = Field(foreign_key="site.id", index=True)
    technician_pk: int = Field(foreign_key="technician.id", index=True)
    employer_pk: int = Field(foreign_key="employer.id")
    role: str = Field(default="", max_length=40)
    start_date: date
    end_date: date | None = None
    registered_by_employer_pk: int | None = Field(default=None, foreign_key="employer.id")


class WorkRecord(SQLModel, table=True):
    """就業履歴: one day on one site, with entry/exit, every tier's company, tier and role.

    ``event_key`` makes recording idempotent (the same presentation scanned twice is one record).
    """

    id: int | None = Field(default=None, primary_key=True)
    event_key: str = Field(max_length=80, unique=True)
    technician_pk: int = Field(foreign_key="technician.id", index=True)
    site_pk: int = Field(foreign_key="site.id", index=True)
    work_date: date = Field(index=True)
    entry_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    exit_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    prime_employer_pk: int = Field(foreign_key="employer.id")
    employer_pk: int = Field(foreign_key="employer.id")
    tier: int = 0
    tier_companies: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    role: str = Field(default="", max_length=40)
    work_content: str = Field(default="", max_length=200)
    occupation: str = Field(default="", max_length=60)
    source: str = Field(default="register", max_length=20)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


# Attendance tables (register/attendance/models.py) are part of the register's schema: loaded with it, so
# every metadata user (migrations, tests' truncation) sees them.
import register.attendance.models  # noqa: E402, F401
