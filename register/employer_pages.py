"""The employer's page for its technicians (所属技能者): which contact is published for each (rule 3).

``GET /employer/technicians`` shows the default and each current technician's setting to the
employer's staff; ``POST /employer/technicians/contact-substitution`` (a form with its CSRF token)
changes them, for an administrator of that employer only. The employer is always the signed-in
staff member's own: nothing in the form can name another company.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from common.japan_time import local_date
from idp.models import Employer, EmployerStaff
from idp.public import CSRF_FIELD, Csrf, DbDep, FieldProblem, RuntimeDep, UserDep, read_form, render, staff_for_account
from register import substitution

router = APIRouter()
VALUES = {"on": True, "off": False, "default": None}


def _staff(db: DbDep, user: UserDep) -> tuple[EmployerStaff, Employer] | None:
    if user is None or user.account.id is None:
        return None
    return staff_for_account(session=db, account_id=user.account.id)


@router.get("/employer/technicians", response_class=HTMLResponse)
def technicians_page(
    request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep, notice: str | None = None
) -> Response:
    """所属技能者: the default and each current technician's published contact."""
    if user is None:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    staff = _staff(db, user)
    if staff is None:
        return RedirectResponse("/account", status_code=303)
    role, employer = staff[0].role, staff[1]
    settings = substitution.settings_of(session=db, employer=employer, today=local_date(runtime.clock()))
    return render(
        request,
        runtime,
        "employer_technicians.html",
        {
            "employer": employer,
            "is_admin": role == "admin",
            "settings": settings,
            "notice_key": "employer.saved" if notice == "saved" else None,
        },
    )


@router.post("/employer/technicians/contact-substitution", response_class=HTMLResponse)
async def set_contact_substitution(request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep) -> Response:
    """Rule 3: ``target`` is ``default`` or a technician ID; ``value`` is ``on``, ``off`` or ``default``."""
    form = await read_form(request)
    Csrf(runtime.config, runtime.rng).check(request, form.get(CSRF_FIELD))
    if user is None:
        return RedirectResponse("/login?next=/employer/technicians", status_code=303)
    staff = _staff(db, user)
    if staff is None or staff[0].role != "admin":
        return render(request, runtime, "error.html", {"message": _message("employer.admin_only")}, status=403)
    employer = staff[1]
    target, value = form.get("target", ""), form.get("value", "")
    if value not in VALUES or (target == "default" and VALUES[value] is None):
        return render(request, runtime, "error.html", {"message": _message("employer.bad_value")}, status=400)
    now = runtime.clock()
    try:
        if target == "default":
            on = VALUES[value]
            assert on is not None
            substitution.set_default(session=db, employer=employer, on=on, now=now, account_id=user.account.id)
        else:
            substitution.set_for_technician(
                session=db,
                employer=employer,
                technician_id=target,
                on=VALUES[value],
                today=local_date(now),
                now=now,
                account_id=user.account.id,
            )
    except FieldProblem as problem:
        db.rollback()
        return render(request, runtime, "error.html", {"message": f"{problem.ja} / {problem.en}"}, status=400)
    db.commit()
    return RedirectResponse("/employer/technicians?notice=saved", status_code=303)


def _message(key: str) -> str:
    from idp.public import MESSAGES

    ja, en = MESSAGES[key]
    return f"{ja} / {en}"
