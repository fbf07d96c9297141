"""Ending a technician's affiliation from the employer page (所属を終了; docs/domain.md, the current
employer's relationship; issue 14, "refused at once").

``POST /employer/technicians/end-affiliation`` (a form with its CSRF token, ``technician_id`` and
``end_date``, the affiliation's last day) first asks for confirmation and, sent again with
``confirm=yes``, ends it with the function the operator's ``genba admin end-affiliation`` uses
(``idp.public.end_affiliation``). From the day after ``end_date`` the company's relationship rules no
longer apply to the technician: the page offers yesterday, which takes effect at the very next
request to any worker (nothing cached depends on an affiliation, docs/operations.md "Worker caches").

Only an administrator of the technician's current employer may: the employer is the signed-in staff
member's own, and a technician who does not work for it now is refused as not its technician (400),
as on the contact settings. Each ending is audited (``employer.affiliation_ended``).
"""

from __future__ import annotations

from datetime import date
from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from common.japan_time import local_date
from common.messages import message
from idp.models import Affiliation, Employer, Technician
from idp.public import (
    DbDep,
    FieldProblem,
    IdpRuntime,
    RuntimeDep,
    SignedIn,
    UserDep,
    end_affiliation,
    normalise_14_digit_id,
    parse_date,
    render,
)
from idp.public import record_audit_event as audit
from register.employer_pages import admin_action

router = APIRouter()
EVENT = "employer.affiliation_ended"
PAGE = "/employer/technicians"


@router.post("/employer/technicians/end-affiliation", response_class=HTMLResponse)
async def end_affiliation_page(request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep) -> Response:
    """Confirm, then end the affiliation of ``technician_id`` with the signed-in admin's company."""
    return await admin_action(request, runtime, db, user, partial(_end, request, runtime, db))


def _current(session: Session, employer: Employer, technician_id: str, today: date) -> tuple[Affiliation, Technician]:
    """The open affiliation of ``technician_id`` with ``employer`` on ``today``, or a field problem."""
    stmt = (
        select(Affiliation, Technician)
        .where(col(Affiliation.technician_pk) == Technician.id)
        .where(col(Technician.technician_id) == technician_id)
        .where(col(Affiliation.employer_pk) == employer.id)
        .where(col(Affiliation.start_date) <= today)
        .where(col(Affiliation.end_date).is_(None))
    )
    found = session.exec(stmt).first()
    if found is None:
        raise FieldProblem("technician_id", message("field.not_current_technician"))
    return found[0], found[1]


def _end(
    request: Request, runtime: IdpRuntime, db: DbDep, form: dict[str, str], employer: Employer, user: SignedIn
) -> Response:
    try:
        technician_id = normalise_14_digit_id(form.get("technician_id", ""), field="technician_id")
        end_date = parse_date(form.get("end_date", ""), field="end_date")
        affiliation, technician = _current(db, employer, technician_id, local_date(runtime.clock()))
        if end_date < affiliation.start_date:
            raise FieldProblem("end_date", message("field.end_before_start"))
    except FieldProblem as problem:
        return render(request, runtime, "error.html", {"message": f"{problem.ja} / {problem.en}"}, status=400)
    if form.get("confirm") != "yes":
        return render(
            request,
            runtime,
            "employer_confirm.html",
            {
                "title_key": "employer.end_title",
                "lead_key": "employer.end_lead",
                "values": {"name": technician.name, "technician_id": technician_id, "end_date": end_date.isoformat()},
                "action": "/employer/technicians/end-affiliation",
                "fields": {"technician_id": technician_id, "end_date": end_date.isoformat()},
                "button_key": "employer.end",
            },
        )
    assert technician.id is not None
    end_affiliation(session=db, technician_pk=technician.id, end_date=end_date)
    audit(
        session=db,
        event=EVENT,
        outcome="success",
        now=runtime.clock(),
        account_id=user.account.id,
        detail={"employer_id": employer.employer_id, "technician_id": technician_id, "end_date": end_date.isoformat()},
    )
    db.commit()
    return RedirectResponse(f"{PAGE}?notice=ended", status_code=303)
