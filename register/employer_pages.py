"""The employer's page for its technicians (所属技能者): which contact is published for each (rule 3),
and the company's own systems.

``GET /employer/technicians`` shows the default and each current technician's setting to the
employer's staff; ``POST /employer/technicians/contact-substitution`` (a form with its CSRF token)
changes them, for an administrator of that employer only. The employer is always the signed-in
staff member's own: nothing in the form can name another company. The page's revoking actions —
ending an affiliation (``register/employer_affiliation.py``) and rotating a system's client secret
(``register/employer_systems.py``) — have modules of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from common.japan_time import local_date
from idp.models import Employer, EmployerStaff
from idp.public import (
    CSRF_FIELD,
    Csrf,
    DbDep,
    FieldProblem,
    IdpRuntime,
    RuntimeDep,
    SignedIn,
    UserDep,
    read_form,
    render,
    staff_for_account,
)
from register import substitution
from register.owners import systems_of

router = APIRouter()
VALUES = {"on": True, "off": False, "default": None}
NOTICES = {"saved": "employer.saved", "ended": "employer.affiliation_ended"}


def staff_of(db: DbDep, user: SignedIn | None) -> tuple[EmployerStaff, Employer] | None:
    """The signed-in staff member and the employer they work for, or ``None`` for anyone else."""
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
    staff = staff_of(db, user)
    if staff is None:
        return RedirectResponse("/account", status_code=303)
    role, employer = staff[0].role, staff[1]
    today = local_date(runtime.clock())
    settings = substitution.settings_of(session=db, employer=employer, today=today)
    return render(
        request,
        runtime,
        "employer_technicians.html",
        {
            "employer": employer,
            "is_admin": role == "admin",
            "settings": settings,
            "systems": systems_of(session=db, employer=employer),
            # ending on yesterday takes effect at once (an affiliation's end date is its last day)
            "yesterday": (today - timedelta(days=1)).isoformat(),
            "notice_key": NOTICES.get(notice or ""),
        },
    )


@router.post("/employer/technicians/contact-substitution", response_class=HTMLResponse)
async def set_contact_substitution(request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep) -> Response:
    """Rule 3: ``target`` is ``default`` or a technician ID; ``value`` is ``on``, ``off`` or ``default``."""
    form = await read_form(request)
    Csrf(runtime.config, runtime.rng).check(request, form.get(CSRF_FIELD))
    if user is None:
        return RedirectResponse("/login?next=/employer/technicians", status_code=303)
    staff = staff_of(db, user)
    if staff is None or staff[0].role != "admin":
        return render(request, runtime, "error.html", {"message": page_message("employer.admin_only")}, status=403)
    employer = staff[1]
    target, value = form.get("target", ""), form.get("value", "")
    if value not in VALUES or (target == "default" and VALUES[value] is None):
        return render(request, runtime, "error.html", {"message": page_message("employer.bad_value")}, status=400)
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


async def admin_action(
    request: Request,
    runtime: IdpRuntime,
    db: DbDep,
    user: SignedIn | None,
    work: Callable[[dict[str, str], Employer, SignedIn], Response],
) -> Response:
    """The POST of an employer administrator's action on the employer page (所属を終了,
    シークレットを再発行): the form's CSRF token, sign-in (back to the page), then ``work(form,
    employer)`` in the thread pool (its write waits for every worker's caches, the fence) for an
    administrator of the signed-in staff member's own employer only (403 for anyone else)."""
    form = await read_form(request)
    Csrf(runtime.config, runtime.rng).check(request, form.get(CSRF_FIELD))
    if user is None:
        return RedirectResponse("/login?next=/employer/technicians", status_code=303)
    signed_in = user

    def checked() -> Response:
        staff = staff_of(db, signed_in)
        if staff is None or staff[0].role != "admin":
            return render(request, runtime, "error.html", {"message": page_message("employer.admin_only")}, status=403)
        return work(form, staff[1], signed_in)

    answer: Response = await run_in_threadpool(checked)
    return answer


def page_message(key: str) -> str:
    """A page message in both languages, Japanese first, for the error page."""
    from idp.public import MESSAGES

    ja, en = MESSAGES[key]
    return f"{ja} / {en}"
