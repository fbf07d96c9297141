"""Work history pages: a technician's own 就業履歴, and today's entries at a site for its prime
contractor (the live roster the gates feed; issue 7, item 6)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import col, select

from common.japan_time import JAPAN, local_date
from idp.models import Employer, Technician
from idp.public import DbDep, RuntimeDep, UserDep, render, staff_for_account, technician_for_account
from register.models import WorkRecord
from register.repository import find_site, work_history

router = APIRouter()


@router.get("/history", response_class=HTMLResponse)
def my_history(request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep) -> Response:
    if user is None or user.account.id is None:
        return RedirectResponse("/login?next=/history", status_code=303)
    technician = technician_for_account(session=db, account_id=user.account.id)
    if technician is None or technician.id is None:
        return render(request, runtime, "error.html", {"message": "技能者のみ / technicians only"}, status=403)
    rows = work_history(session=db, technician_pk=technician.id)
    return render(request, runtime, "history.html", {"rows": rows, "hhmm": _hhmm})


@router.get("/sites/{site_id}/today", response_class=HTMLResponse)
def site_today(site_id: str, request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep) -> Response:
    """Only the site's prime contractor's staff (the roster is a disclosure it is entitled to)."""
    if user is None or user.account.id is None:
        return RedirectResponse(f"/login?next=/sites/{site_id}/today", status_code=303)
    staff = staff_for_account(session=db, account_id=user.account.id)
    site = find_site(session=db, site_id=site_id)
    if staff is None or site is None or site.prime_employer_pk != staff[1].id:
        return render(
            request, runtime, "error.html", {"message": "この現場の元請のみ / the prime contractor only"}, status=403
        )
    today = local_date(runtime.clock())
    stmt = (
        select(WorkRecord, Technician, Employer)
        .where(col(WorkRecord.technician_pk) == Technician.id)
        .where(col(WorkRecord.employer_pk) == Employer.id)
        .where(col(WorkRecord.site_pk) == site.id)
        .where(col(WorkRecord.work_date) == today)
        .order_by(col(WorkRecord.entry_at))
    )
    rows = db.exec(stmt).all()
    return render(request, runtime, "site_today.html", {"site": site, "rows": rows, "today": today, "hhmm": _hhmm})


def _hhmm(value: datetime | None) -> str:
    """Times in Japan time, as on the site."""
    return value.astimezone(JAPAN).strftime("%H:%M") if value else "—"
