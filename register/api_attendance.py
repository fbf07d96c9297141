"""Attendance in the data API (issue 16; docs/domain.md "Working time, overtime and 建退共 days"):
``GET /api/v1/attendance/technicians/{technician_id}/months/{yyyy-mm}`` — one technician's month with
each employer: the days, the hours, the overtime findings (労働基準法第36条) and the 建退共 days.

Decided by the consent engine on the field group ``attendance`` (``consent.groups``): the current
employer's own systems read it by the relationship rule, anyone else only with a consent approved by
both the technician and the employer (rule 1; the scope ``ccus.attendance`` asks for it). Every answer
that carries data is recorded as a disclosure (rule 6, APPI 第29条).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from common.messages import message
from consent.groups import FieldGroup
from consent.ports import ConsentPort
from idp.oauth.public import OAuthDep, OAuthRuntime, json_error
from idp.public import find_technician
from register.api import ConsentDep, _caller, _denied
from register.attendance.models import AttendanceMonth
from register.principal import Caller

router = APIRouter(prefix="/api/v1/attendance", tags=["attendance"])

#: What a month's answer carries (the disclosure record names these, APPI 第29条)
ATTENDANCE_FIELDS = ("attendance_days", "kentaikyo_days", "overtime_findings", "working_hours")

DESCRIPTION = """One technician's month with each of his employers, computed from the gate's entries and
exits as they arrive: `days` (per site and Japan date: first entry, last exit, break, worked and night
minutes, holiday kind, flags with reasons), the month's worked, overtime (労働基準法第32条) and legal
holiday work (第35条) minutes, `findings` (the overtime limits of 第36条第4項〜第6項, each a warning at
the employer's fraction, 80 % by default, or a violation, with its clause), and the 建退共 days (dates
with a verified entry and no flag; other site-days listed apart with their reasons).

Decided by the consent engine on the field group `attendance`: the technician's current employer's
own systems by the relationship rule, any other system only with a consent both the technician and
the employer approved (scope `ccus.attendance`). 403 lists what is missing. Every answer is recorded
as a disclosure."""


def _employer_month(row: AttendanceMonth) -> dict[str, Any]:
    return {
        "employer_id": row.employer_id,
        "worked_minutes": row.worked_minutes,
        "overtime_minutes": row.overtime_minutes,
        "holiday_work_minutes": row.holiday_work_minutes,
        "flagged_days": row.flagged_days,
        "days": row.detail.get("days", []),
        "rejected_events": row.detail.get("rejected", []),
        "findings": row.detail.get("findings", []),
        "kentaikyo": {
            "day_count": row.kentaikyo_days,
            "days": row.detail.get("kentaikyo_days", []),
            "set_apart": row.detail.get("kentaikyo_set_apart", []),
        },
        "computed_at": row.computed_at.isoformat(),
    }


def _month(
    consent: ConsentPort, oauth: OAuthRuntime, caller: Caller, db: Session, technician_id: str, month: date
) -> Response:
    now = oauth.services.clock()
    if find_technician(session=db, technician_id=technician_id) is None:
        return json_error("not_found", message("api.no_technician").en, 404)
    groups = (FieldGroup.attendance.value,)
    decision = consent.decide(caller.party, technician_id, groups, now=now, consent_ids=caller.consent_ids)
    if FieldGroup.attendance not in decision.allowed:
        return _denied(decision)
    rows = db.exec(
        select(AttendanceMonth)
        .where(col(AttendanceMonth.technician_id) == technician_id)
        .where(col(AttendanceMonth.month) == month)
        .order_by(col(AttendanceMonth.employer_id))
    ).all()
    consent.record_disclosure(
        caller.party, technician_id, list(ATTENDANCE_FIELDS), decision, now=now, channel="api:attendance"
    )
    return JSONResponse(
        {
            "technician_id": technician_id,
            "month": f"{month:%Y-%m}",
            "employers": [_employer_month(row) for row in rows],
            "rules": list(decision.rules),
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get(
    "/technicians/{technician_id}/months/{month}",
    summary="勤怠: a technician's month — days, hours, overtime findings and 建退共 days — as consent allows",
    description=DESCRIPTION,
)
async def technician_month(
    technician_id: str,
    month: Annotated[str, Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="the month, YYYY-MM")],
    request: Request,
    oauth: OAuthDep,
    consent: ConsentDep,
) -> Response:
    caller, db = await _caller(request, oauth)
    first = date(int(month[:4]), int(month[5:]), 1)
    with db:
        return await run_in_threadpool(_month, consent, oauth, caller, db, technician_id, first)
