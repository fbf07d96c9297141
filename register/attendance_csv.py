"""建退共 days as CSV for the employer (issue 16; docs/domain.md "Working time, overtime and 建退共
days"): ``GET /employer/kentaikyo.csv?month=YYYY-MM`` (the month before this one by default), one row
per technician with days in the month, for the signed-in staff of that employer only — the employer is
always the staff member's own; nothing in the request can name another company.

As Japanese Excel expects: Japanese headers, UTF-8 with a byte-order mark. Cells go through
``idp.csv_export.write_csv`` (formulas neutralised), as the 作業員名簿 CSV (``register/roster_csv.py``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from common.japan_time import local_date
from idp.models import Technician
from idp.public import DbDep, RuntimeDep, UserDep, staff_for_account, write_csv
from register.attendance.models import AttendanceMonth

router = APIRouter()

#: The columns, in the order a 建退共 report lists them
KENTAIKYO_CSV_COLUMNS = (
    "技能者ID",
    "氏名",
    "対象年月",
    "建退共就労日数",
    "就労日",
    "労働時間(分)",
    "時間外労働(分)",
    "法定休日労働(分)",
    "対象外の日と理由",
)
BOM = "\ufeff"


def _previous_month(today: date) -> date:
    return date(today.year - 1, 12, 1) if today.month == 1 else date(today.year, today.month - 1, 1)


def kentaikyo_row(row: AttendanceMonth, name: str) -> dict[str, object]:
    """One technician's month: the counted dates joined with ・, the others with their reasons."""
    apart = row.detail.get("kentaikyo_set_apart", [])
    return {
        "技能者ID": row.technician_id,
        "氏名": name,
        "対象年月": f"{row.month:%Y-%m}",
        "建退共就労日数": row.kentaikyo_days,
        "就労日": "・".join(row.detail.get("kentaikyo_days", [])),
        "労働時間(分)": row.worked_minutes,
        "時間外労働(分)": row.overtime_minutes,
        "法定休日労働(分)": row.holiday_work_minutes,
        "対象外の日と理由": " / ".join(f"{a['date']} {a['site_id']}: {'; '.join(a['reasons'])}" for a in apart),
    }


@router.get("/employer/kentaikyo.csv")
def kentaikyo_csv(
    request: Request,
    runtime: RuntimeDep,
    db: DbDep,
    user: UserDep,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None,
) -> Response:
    """建退共就労日数 of the employer's technicians for one month."""
    if user is None or user.account.id is None:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    staff = staff_for_account(session=db, account_id=user.account.id)
    if staff is None:
        return RedirectResponse("/account", status_code=303)
    employer = staff[1]
    first = date(int(month[:4]), int(month[5:]), 1) if month else _previous_month(local_date(runtime.clock()))
    rows = db.exec(
        select(AttendanceMonth, Technician)
        .where(col(AttendanceMonth.technician_id) == Technician.technician_id)
        .where(col(AttendanceMonth.employer_id) == employer.employer_id)
        .where(col(AttendanceMonth.month) == first)
        .order_by(col(AttendanceMonth.technician_id))
    ).all()
    text = BOM + write_csv(KENTAIKYO_CSV_COLUMNS, (kentaikyo_row(row, tech.name) for row, tech in rows))
    filename = f"kentaikyo-{employer.employer_id}-{first:%Y-%m}.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="{filename}"'},
    )
