"""The data API for companies and their systems (``/api/v1``, documented in ``/api/openapi.json``).

Every response carries only the fields the consent engine allows; every disclosure is recorded;
a token whose consent was revoked stops working at once (the token check consults the engine).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from common.japan_time import local_date
from common.messages import message
from consent.groups import RECORD_GROUPS, ROSTER_GROUPS
from consent.ports import ConsentPort, ConsentView, Decision, Party
from idp.models import Employer, Technician
from idp.oauth.public import (
    OAuthDep,
    OAuthRuntime,
    Resource,
    TokenKind,
    TokenRefused,
    json_error,
    presented_token,
    verify_presented,
)
from idp.public import find_technician, write_csv
from register.disclosure import disclose
from register.models import SiteAssignment
from register.principal import Caller, caller_from_token
from register.record_view import TechnicianRecordView
from register.repository import assignment_active, find_site, site_active
from register.roster_csv import ROSTER_CSV_COLUMNS, roster_row
from register.standing import has_standing

router = APIRouter(prefix="/api/v1", tags=["data"])


def get_consent(request: Request) -> ConsentPort:
    port: ConsentPort = request.app.state.consent
    return port


ConsentDep = Annotated[ConsentPort, Depends(get_consent)]


class ConsentRequestIn(BaseModel):
    technician_ids: list[str] = Field(min_length=1, max_length=10_000)
    groups: list[str] = Field(min_length=1)
    purpose: str = Field(min_length=1, max_length=500)
    period_start: date | None = None
    period_end: date


def _denied(decision: Decision) -> Response:
    return JSONResponse(
        {
            "error": "access_denied",
            "message": message("api.nothing_disclosed").bilingual(),
            "missing": {g: {"code": r.code, "ja": r.ja, "en": r.en} for g, r in decision.missing.items()},
        },
        status_code=403,
    )


def _view(view: ConsentView) -> dict[str, Any]:
    return {
        "id": view.id,
        "technician_id": view.technician_id,
        "groups": list(view.groups),
        "purpose": view.purpose,
        "period_start": view.period_start.isoformat(),
        "period_end": view.period_end.isoformat(),
        "state": view.state,
        "technician_decision": view.technician_decision,
        "employer_decision": view.employer_decision,
    }


async def _caller(request: Request, oauth: OAuthRuntime) -> tuple[Caller, Session]:
    """The caller behind the access token and an open session (the caller closes it); a refused
    token raises ``TokenRefused`` (RFC 6750 §3.1), rendered by the application."""
    value, scheme = await presented_token(request, allow_body=False)
    svc = oauth.services

    def work() -> tuple[Caller, Session]:
        db = Session(svc.engine, expire_on_commit=False)
        try:
            # the data API serves a client's own tokens and people's delegated ones; never a token for
            # another resource server (a wallet's pre-authorized token, a userinfo-only token)
            claims = verify_presented(
                svc, db, request, value, scheme, resource=Resource.data_api, kinds=(TokenKind.client, TokenKind.user)
            )
            caller = caller_from_token(db, claims)
            if caller is None:
                raise TokenRefused("invalid_token", message("token.invalid"))
        except BaseException:
            db.close()
            raise
        return caller, db

    return await run_in_threadpool(work)


def _technician_data(
    consent: ConsentPort,
    oauth: OAuthRuntime,
    caller: Caller,
    db: Session,
    technician_id: str,
    groups: tuple[str, ...],
    channel: str,
) -> Response:
    now = oauth.services.clock()
    technician = find_technician(session=db, technician_id=technician_id)
    if technician is None:
        return json_error("not_found", message("api.no_technician").en, 404)
    # a refusal (ConsentError) is rendered by the application, as the data API's JSON
    decision = consent.decide(caller.party, technician_id, groups, now=now, consent_ids=caller.consent_ids)
    if not decision.allowed:
        return _denied(decision)
    view = disclose(db, technician, decision, today=local_date(now))
    consent.record_disclosure(
        caller.party, technician_id, sorted(view.field_names()), decision, now=now, channel=channel
    )
    withheld = {g: {"code": r.code, "ja": r.ja, "en": r.en} for g, r in decision.missing.items()}
    return JSONResponse(
        {
            "technician": view.to_json(),
            "allowed_groups": sorted(decision.allowed),
            "withheld": withheld,
            "rules": list(decision.rules),
        },
        headers={"Cache-Control": "no-store"},
    )


def _groups(value: str | None) -> tuple[str, ...]:
    if not value:
        return RECORD_GROUPS
    return tuple(dict.fromkeys(g.strip() for g in value.split(",") if g.strip()))


@router.get("/technicians/me", summary="The signed-in technician's data, as far as consent allows")
async def technician_me(
    request: Request,
    oauth: OAuthDep,
    consent: ConsentDep,
    groups: Annotated[str | None, Query(description="comma-separated field groups")] = None,
) -> Response:
    caller, db = await _caller(request, oauth)
    with db:
        if caller.user_technician_id is None:
            return json_error("invalid_request", message("token.not_technician").en, 400)
        return await run_in_threadpool(
            _technician_data,
            consent,
            oauth,
            caller,
            db,
            caller.user_technician_id,
            _groups(groups),
            "api:technicians/me",
        )


@router.get("/technicians/{technician_id}", summary="A technician's data, as far as consent and relationships allow")
async def technician(
    technician_id: str,
    request: Request,
    oauth: OAuthDep,
    consent: ConsentDep,
    groups: Annotated[str | None, Query(description="comma-separated field groups")] = None,
) -> Response:
    caller, db = await _caller(request, oauth)
    with db:
        return await run_in_threadpool(
            _technician_data, consent, oauth, caller, db, technician_id, _groups(groups), "api:technicians"
        )


@router.get(
    "/sites/{site_id}/roster",
    summary="作業員名簿: roster of today's assigned technicians (JSON or CSV), for the site's companies and orderer",
)
async def roster(
    site_id: str,
    request: Request,
    oauth: OAuthDep,
    consent: ConsentDep,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Response:
    caller, db = await _caller(request, oauth)

    def work() -> Response:
        now = oauth.services.clock()
        site = find_site(session=db, site_id=site_id)
        # only the site's companies and its orderer may name it; to anyone else it does not exist
        if site is None or site.id is None or not has_standing(db, site, caller.party.organisation):
            return json_error("not_found", message("api.no_site").en, 404)
        rows: list[TechnicianRecordView] = []
        if site_active(site, now):
            stmt = (
                select(SiteAssignment, Technician)
                .where(col(SiteAssignment.technician_pk) == Technician.id)
                .where(col(SiteAssignment.site_pk) == site.id)
            )
            for assignment, tech in db.exec(stmt).all():
                if not assignment_active(assignment, local_date(now)):
                    continue
                decision = consent.decide(caller.party, tech.technician_id, tuple(ROSTER_GROUPS), now=now)
                if not decision.allowed:
                    continue
                view = disclose(db, tech, decision, today=local_date(now))
                consent.record_disclosure(
                    caller.party,
                    tech.technician_id,
                    sorted(view.field_names()),
                    decision,
                    now=now,
                    channel=f"api:roster:{site_id}",
                )
                rows.append(view)
        if format == "csv":
            text = write_csv(ROSTER_CSV_COLUMNS, (roster_row(row) for row in rows))
            return Response(text, media_type="text/csv; charset=utf-8", headers={"Cache-Control": "no-store"})
        return JSONResponse(
            {"site_id": site.site_id, "site_name": site.name, "roster": [row.to_json() for row in rows]},
            headers={"Cache-Control": "no-store"},
        )

    with db:
        return await run_in_threadpool(work)


@router.get("/companies", summary="Company search: public company data only, never anything about technicians")
async def companies(
    request: Request, oauth: OAuthDep, q: Annotated[str, Query(min_length=1, max_length=100)]
) -> Response:
    _, db = await _caller(request, oauth)

    def work() -> Response:
        term = q.strip()
        stmt = select(Employer).where((col(Employer.employer_id) == term) | (col(Employer.trade_name).contains(term)))
        found = db.exec(stmt.limit(50)).all()
        return JSONResponse(
            {
                "companies": [
                    {"employer_id": e.employer_id, "trade_name": e.trade_name, "sole_proprietor": e.sole_proprietor}
                    for e in found
                ]
            }
        )

    with db:
        return await run_in_threadpool(work)


@router.post("/consent-requests", status_code=201, summary="Ask technicians and their employers for field groups")
async def create_consent_requests(
    body: ConsentRequestIn, request: Request, oauth: OAuthDep, consent: ConsentDep
) -> Response:
    caller, db = await _caller(request, oauth)
    db.close()
    now = oauth.services.clock()
    views = await run_in_threadpool(  # a ConsentError is rendered by the application
        consent.request,
        caller.party,
        body.technician_ids,
        body.groups,
        body.purpose,
        body.period_start or local_date(now),
        body.period_end,
        now=now,
    )
    return JSONResponse({"requests": [_view(v) for v in views]}, status_code=201)


@router.get("/consent-requests/{consent_id}", summary="The state of one of the caller's consent requests")
async def get_consent_request(consent_id: str, request: Request, oauth: OAuthDep, consent: ConsentDep) -> Response:
    caller, db = await _caller(request, oauth)
    db.close()
    view = consent.get(consent_id, now=oauth.services.clock())
    if view is None or view.requester != Party(caller.party.kind, caller.party.id).label():
        return json_error("not_found", message("api.no_consent_request").en, 404)
    return JSONResponse(_view(view))
