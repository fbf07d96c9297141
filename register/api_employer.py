"""The employer's settings in the data API (``/api/v1/employers/{employer_id}/...``): rule 3, the
company's address/phone published instead of its technicians' (issue 12 item 11).

Who may call: an access token delegated by an **administrator of that employer** (the grant's
account is an ``admin`` of ``{employer_id}``) to **that employer's own system** (the client is owned
by ``{employer_id}``). A client-credentials token (no person behind it), a staff member who is not
an administrator, another company's system holding an administrator's sign-in, or an administrator
of another employer are refused with 403; nothing says whether the employer exists. Bearer tokens
only, no cookies, so there is nothing for CSRF to ride on.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from common.japan_time import local_date
from common.messages import message
from idp.models import Account, Employer, OAuthClient
from idp.oauth.public import OAuthDep, Resource, TokenKind, json_error, presented_token, verify_presented
from idp.public import FieldProblem, staff_for_account
from register import substitution

router = APIRouter(prefix="/api/v1", tags=["employer"])


class SubstitutionIn(BaseModel):
    #: ``true``: the company's contact; ``false``: the technician's own; ``null`` (per technician
    #: only): follow the employer's default
    enabled: bool | None


def _forbidden() -> Response:
    return JSONResponse(
        {"error": "forbidden", "message": message("api.employer_admin_only").bilingual()},
        status_code=403,
    )


def _admin_of(db: Session, grant_account_id: int | None, client_id: str, employer_id: str) -> Employer | None:
    """The employer, when the token's user is its administrator and the client its own system."""
    if grant_account_id is None:
        return None
    account = db.get(Account, grant_account_id)
    if account is None or account.disabled:
        return None
    staff = staff_for_account(session=db, account_id=grant_account_id)
    client = db.get(OAuthClient, client_id)
    if staff is None or client is None or client.disabled:
        return None
    role, employer = staff[0].role, staff[1]
    if role != "admin" or employer.employer_id != employer_id or client.owner_employer_pk != employer.id:
        return None
    return employer


def _view(db: Session, employer: Employer, today: Any) -> dict[str, Any]:
    return {
        "employer_id": employer.employer_id,
        "default": employer.contact_substitution,
        "technicians": [
            {"technician_id": s.technician_id, "override": s.override, "effective": s.effective}
            for s in substitution.settings_of(session=db, employer=employer, today=today)
        ],
    }


async def _run(request: Request, oauth: OAuthDep, employer_id: str, change: Any) -> Response:
    value, scheme = await presented_token(request, allow_body=False)  # TokenRefused: RFC 6750 §3.1
    svc = oauth.services

    def work() -> Response:
        with Session(svc.engine, expire_on_commit=False) as db:
            # an employer administrator acting through a system of its own company: a person's
            # token for the data API, never a client's own token or one for another resource
            claims = verify_presented(
                svc, db, request, value, scheme, resource=Resource.data_api, kinds=(TokenKind.user,)
            )
            grant = claims.grant
            employer = _admin_of(db, grant.account_id if grant else None, claims.client_id, employer_id)
            if employer is None:
                return _forbidden()
            now = svc.clock()
            try:
                if change is not None:
                    change(db, employer, now, grant.account_id if grant else None)
            except FieldProblem as problem:
                db.rollback()
                return json_error("invalid_request", str(problem), 400)
            db.commit()
            return JSONResponse(_view(db, employer, local_date(now)), headers={"Cache-Control": "no-store"})

    return await run_in_threadpool(work)


@router.get(
    "/employers/{employer_id}/contact-substitution",
    summary="Rule 3: whose contact is published for each of the employer's technicians (its administrator only)",
)
async def get_contact_substitution(employer_id: str, request: Request, oauth: OAuthDep) -> Response:
    return await _run(request, oauth, employer_id, None)


@router.put(
    "/employers/{employer_id}/contact-substitution",
    summary="Rule 3: publish the company's address/phone for all technicians by default (its administrator only)",
)
async def set_default_substitution(
    employer_id: str, body: SubstitutionIn, request: Request, oauth: OAuthDep
) -> Response:
    if body.enabled is None:
        return json_error("invalid_request", message("api.default_needs_value").en, 400)
    on = body.enabled

    def change(db: Session, employer: Employer, now: Any, account_id: int | None) -> None:
        substitution.set_default(session=db, employer=employer, on=on, now=now, account_id=account_id)

    return await _run(request, oauth, employer_id, change)


@router.put(
    "/employers/{employer_id}/technicians/{technician_id}/contact-substitution",
    summary="Rule 3: publish the company's address/phone for one current technician (its administrator only)",
)
async def set_technician_substitution(
    employer_id: str, technician_id: str, body: SubstitutionIn, request: Request, oauth: OAuthDep
) -> Response:
    def change(db: Session, employer: Employer, now: Any, account_id: int | None) -> None:
        substitution.set_for_technician(
            session=db,
            employer=employer,
            technician_id=technician_id,
            on=body.enabled,
            today=local_date(now),
            now=now,
            account_id=account_id,
        )

    return await _run(request, oauth, employer_id, change)
