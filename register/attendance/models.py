"""Tables of attendance (issue 16; docs/domain.md "Working time, overtime and 建退共 days"): every entry
and exit the gate hands to the register, kept as its own row; the prime contractor's site rule; the
employer's settings; and one summary row per technician, employer and month, refreshed as events arrive.

The gate's own table (its evidence) stays the gate's: the register receives the events through the
gate's port (``wallet.gate.ports.GateDirectory.record``, wired in ``app/gate_wiring.py``).
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from idp.models.types import UTCDateTime


class AttendanceEvent(SQLModel, table=True):
    """One entry or exit (the rules' ``GateEvent``), idempotent by the gate's ``event_key``."""

    __table_args__ = (Index("ix_attendanceevent_technician_at", "technician_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    event_key: str = Field(max_length=80, unique=True)
    technician_id: str = Field(max_length=14)
    employer_id: str = Field(max_length=14)
    site_id: str = Field(max_length=40)
    kind: str = Field(max_length=8)  # entry | exit
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    verified: bool = True
    source: str = Field(max_length=8)  # online | offline
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class AttendanceSiteRule(SQLModel, table=True):
    """The prime contractor's rule for one site: the day it opened and its break (労働基準法第34条).
    A site without a row opened on its ``Site.starts_on`` with the default break."""

    site_pk: int = Field(primary_key=True, foreign_key="site.id")
    opened_on: date
    break_minutes: int = 60
    updated_by: str = Field(default="", max_length=80)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class AttendanceSettings(SQLModel, table=True):
    """An employer's rules of employment and 36協定 (the rules' ``EmployerSettings`` and its 法定休日
    weekday, 0 = Monday … 6 = Sunday, None when it has none). An employer without a row has the defaults."""

    employer_pk: int = Field(primary_key=True, foreign_key="employer.id")
    special_clause: bool = False
    daily_statutory_minutes: int = 8 * 60
    weekly_statutory_minutes: int = 40 * 60
    week_starts_on: int = 6
    agreement_year_start_month: int = 4
    warning_fraction: float = 0.8
    legal_holiday_weekday: int | None = 6
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class AttendanceMonth(SQLModel, table=True):
    """One technician's month with one employer, as last computed (``month`` is the first day):
    the totals, the 建退共 day count and, in ``detail``, the days, findings and days set apart."""

    __table_args__ = (UniqueConstraint("technician_id", "employer_id", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    technician_id: str = Field(max_length=14)
    employer_id: str = Field(max_length=14, index=True)
    month: date
    worked_minutes: int = 0
    overtime_minutes: int = 0
    holiday_work_minutes: int = 0
    flagged_days: int = 0
    kentaikyo_days: int = 0
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    computed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
