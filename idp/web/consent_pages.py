"""Consent pages (Japanese first): the technician's inbox and history (approve, refuse, revoke), the
employer's approval inbox with bulk approval and employer-started grants, receipts and record export.

Each request is shown as the plain-language notice ISO/IEC 29184 asks for: recipient, purpose,
fields and period.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from common.japan_time import local_date
from common.messages import message
from consent.groups import ALL_GROUPS, LABELS
from consent.ports import ConsentError, ConsentPort, ConsentState, ConsentView, Party, PartyDecision
from idp import accounts
from idp.models import Employer, OAuthClient
from idp.web.deps import DbDep, IdpRuntime, RuntimeDep, SignedIn, UserDep
from idp.web.forms import CSRF_FIELD, Csrf, read_form
from idp.web.render import render
from idp.web.return_to import sign_in_again

router = APIRouter()

#: requests a party has approved that still count: in force, or waiting for the other party
LIVE = (ConsentState.active, ConsentState.awaiting)


def get_consent(request: Request) -> ConsentPort:
    port: ConsentPort = request.app.state.consent
    return port


ConsentDep = Annotated[ConsentPort, Depends(get_consent)]


def _actor(db: DbDep, user: SignedIn) -> tuple[Party, Employer | None] | None:
    assert user.account.id is not None
    technician = accounts.technician_for_account(session=db, account_id=user.account.id)
    if technician is not None:
        return Party("technician", technician.technician_id), None
    staff = accounts.staff_for_account(session=db, account_id=user.account.id)
    if staff is not None:
        return Party("company", staff[1].employer_id, role=staff[0].role), staff[1]
    return None


#: The pages the consent forms are on; a form names its page in ``page`` (only these are taken).
FORM_PAGES = ("/consent", "/consent/employer")


def _to_login(request: Request, form_page: str = "/consent") -> RedirectResponse:
    """Back to the page after signing in: a GET to itself, a form's POST to the page the form is on (one
    of ``FORM_PAGES``), never to the POST (issue 15, Broken 3)."""
    return sign_in_again(request, form_page=form_page if form_page in FORM_PAGES else "/consent")


def _page(request: Request, runtime: IdpRuntime, name: str, ctx: dict[str, object], status: int = 200) -> Response:
    return render(request, runtime, name, {"labels": LABELS, **ctx}, status=status)


@router.get("/consent", response_class=HTMLResponse)
def technician_inbox(
    request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep, consent: ConsentDep, notice: str | None = None
) -> Response:
    if user is None:
        return _to_login(request)
    actor = _actor(db, user)
    if actor is None or actor[0].kind != "technician":
        return RedirectResponse("/consent/employer", status_code=303)
    views = consent.for_technician(actor[0].id, now=runtime.clock())
    pending = [v for v in views if v.state == ConsentState.awaiting and v.technician_decision is None]
    active = [v for v in views if v.state in LIVE and v.technician_decision == PartyDecision.approved]
    history = [v for v in views if v not in pending and v not in active]
    return _page(
        request,
        runtime,
        "consent_inbox.html",
        {"pending": pending, "active": active, "history": history, "notice_key": notice},
    )


async def _act(
    request: Request,
    runtime: IdpRuntime,
    db: DbDep,
    user: SignedIn | None,
    consent: ConsentPort,
    consent_ids: list[str],
    action: str,
) -> tuple[list[ConsentView], ConsentError | None, Party | None]:
    actor = _actor(db, user) if user else None
    if actor is None:
        return [], ConsentError("login_required", message("consent.login_required"), status=401), None
    done: list[ConsentView] = []
    operation = {"approve": consent.approve, "refuse": consent.refuse, "revoke": consent.revoke}[action]
    for consent_id in consent_ids:
        try:
            done.append(await run_in_threadpool(operation, consent_id, actor[0], now=runtime.clock()))
        except ConsentError as exc:
            return done, exc, actor[0]
    return done, None, actor[0]


def _ja(request: Request) -> bool:
    return request.query_params.get("lang") != "en" and request.cookies.get("genba_lang") != "en"


@router.get("/consent/employer", response_class=HTMLResponse)
def employer_inbox(
    request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep, consent: ConsentDep, notice: str | None = None
) -> Response:
    if user is None:
        return _to_login(request)
    actor = _actor(db, user)
    if actor is None or actor[0].kind != "company" or actor[1] is None:
        return RedirectResponse("/consent", status_code=303)
    views = consent.for_employer(actor[0].id, now=runtime.clock())
    pending = [v for v in views if v.state == ConsentState.awaiting and v.employer_decision is None]
    active = [v for v in views if v.state in LIVE and v.employer_decision == PartyDecision.approved]
    history = [v for v in views if v not in pending and v not in active]
    clients = db.exec(
        select(OAuthClient).where(col(OAuthClient.disabled).is_(False)).order_by(col(OAuthClient.client_name))
    ).all()
    return _page(
        request,
        runtime,
        "consent_employer.html",
        {
            "employer": actor[1],
            "is_admin": actor[0].role == "admin",
            "pending": pending,
            "active": active,
            "history": history,
            "clients": clients,
            "groups": ALL_GROUPS,
            "notice_key": notice,
            "technicians": consent_technicians(db, actor[1]),
        },
    )


def consent_technicians(db: DbDep, employer: Employer) -> list[tuple[str, str]]:
    from idp.models import Affiliation, Technician

    stmt = (
        select(Technician.technician_id, Technician.name)
        .join(Affiliation, col(Affiliation.technician_pk) == Technician.id)
        .where(col(Affiliation.employer_pk) == employer.id)
        .where(col(Affiliation.end_date).is_(None))
    )
    return [(tid, name) for tid, name in db.exec(stmt).all()]


@router.post("/consent/employer/bulk", response_class=HTMLResponse)
async def employer_bulk(
    request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep, consent: ConsentDep
) -> Response:
    """Bulk approval or refusal of many technicians' requests: checkboxes named ``id_<consent id>``."""
    form = await read_form(request)
    Csrf(runtime.config, runtime.rng).check(request, form.get(CSRF_FIELD))
    if user is None:
        return _to_login(request, "/consent/employer")
    decision = form.get("decision")
    ids = [k.removeprefix("id_") for k, v in form.items() if k.startswith("id_") and v == "1"]
    if decision not in ("approve", "refuse") or not ids:
        return _page(
            request,
            runtime,
            "error.html",
            {"message": "承認または拒否する依頼を選んでください / choose requests"},
            status=400,
        )
    done, error, _ = await _act(request, runtime, db, user, consent, ids, decision)
    if error is not None:
        message = f"{len(done)}件を処理しました。{error.ja} / {len(done)} done; {error.en}"
        return _page(request, runtime, "error.html", {"message": message}, status=error.status)
    return RedirectResponse(f"/consent/employer?notice=consent.done_{decision}", status_code=303)


@router.post("/consent/employer/grant", response_class=HTMLResponse)
async def employer_grant(
    request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep, consent: ConsentDep
) -> Response:
    """An employer starts a grant for a registered system; it becomes active per technician once they approve."""
    form = await read_form(request)
    Csrf(runtime.config, runtime.rng).check(request, form.get(CSRF_FIELD))
    actor = _actor(db, user) if user else None
    if actor is None or actor[0].kind != "company":
        return _to_login(request, "/consent/employer")
    groups = [g for g in ALL_GROUPS if form.get(f"group_{g}") == "1"]
    technicians = [k.removeprefix("tech_") for k, v in form.items() if k.startswith("tech_") and v == "1"]
    if form.get("all_technicians") == "1" and actor[1] is not None:
        technicians = [tid for tid, _ in consent_technicians(db, actor[1])]
    try:
        end = date.fromisoformat(form.get("period_end", ""))
    except ValueError:
        return _page(
            request,
            runtime,
            "error.html",
            {"message": "期間の終了日を入力してください / enter an end date"},
            status=400,
        )
    system = Party("client", form.get("client_id", ""), acting_for=actor[0])
    try:
        await run_in_threadpool(
            consent.request,
            system,
            technicians,
            groups,
            form.get("purpose", ""),
            local_date(runtime.clock()),  # Japan's calendar, as the engine's (not UTC's: 00:00-09:00 JST)
            end,
            now=runtime.clock(),
            employer_initiated=True,
        )
    except ConsentError as exc:
        return _page(request, runtime, "error.html", {"message": exc.ja if _ja(request) else exc.en}, status=exc.status)
    return RedirectResponse("/consent/employer?notice=consent.done_grant", status_code=303)


@router.get("/consent/{consent_id}/receipt.json")
def receipt(consent_id: str, runtime: RuntimeDep, db: DbDep, user: UserDep, consent: ConsentDep) -> Response:
    """Kantara Consent Receipt v1.1 for the technician, or for the employer of the request as long as
    the technician works for it (afterwards only its own decision: ``consent.receipt``)."""
    actor = _actor(db, user) if user else None
    body = consent.receipt_for(consent_id, actor[0], now=runtime.clock()) if actor else None
    if body is None:
        return Response(status_code=404)
    return JSONResponse(
        body,
        headers={
            "Content-Disposition": f'attachment; filename="consent-{consent_id}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/consent/records.json")
def my_records(runtime: RuntimeDep, db: DbDep, user: UserDep, consent: ConsentDep) -> Response:
    """APPI art. 33(5): the technician can obtain the records of provision to third parties about them."""
    actor = _actor(db, user) if user else None
    if actor is None or actor[0].kind != "technician":
        return Response(status_code=401)
    body = json.dumps(
        {"technician_id": actor[0].id, "records": consent.records_for_technician(actor[0].id)},
        ensure_ascii=False,
        default=str,
    )
    return Response(
        body,
        media_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="genba-disclosure-records.json"',
            "Cache-Control": "no-store",
        },
    )


# Registered last so /consent/employer/... routes match first.
@router.post("/consent/{consent_id}/{action}", response_class=HTMLResponse)
async def technician_act(
    consent_id: str, action: str, request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep, consent: ConsentDep
) -> Response:
    form = await read_form(request)
    Csrf(runtime.config, runtime.rng).check(request, form.get(CSRF_FIELD))
    if action not in ("approve", "refuse", "revoke"):
        return Response(status_code=404)
    if user is None:
        return _to_login(request, form.get("page", "/consent"))
    if action == "revoke" and form.get("confirmed") != "yes":
        return _confirm_revoke(request, runtime, db, user, consent, consent_id, form.get("page", "/consent"))
    _, error, actor = await _act(request, runtime, db, user, consent, [consent_id], action)
    technician = actor is not None and actor.kind == "technician"
    back = "/consent" if technician else "/consent/employer"
    if error is not None:
        return _page(
            request, runtime, "error.html", {"message": error.ja if _ja(request) else error.en}, status=error.status
        )
    # The technician pressed 許可する: confirmed as 許可しました (an employer 承認します; issue 15, item 10).
    done = "allow" if technician and action == "approve" else action
    return RedirectResponse(f"{back}?notice=consent.done_{done}", status_code=303)


def _confirm_revoke(
    request: Request,
    runtime: IdpRuntime,
    db: DbDep,
    user: SignedIn,
    consent: ConsentPort,
    consent_id: str,
    page: str,
) -> Response:
    """Withdrawing asks first (issue 15, item 10): the consent's notice (recipient, purpose, fields) and a
    button that posts again with ``confirmed=yes``; only a consent the signed-in party is part of is shown."""
    actor = _actor(db, user)
    now = runtime.clock()
    if actor is None:
        views: list[ConsentView] = []
    elif actor[0].kind == "technician":
        views = consent.for_technician(actor[0].id, now=now)
    else:
        views = consent.for_employer(actor[0].id, now=now)
    view = next((v for v in views if v.id == consent_id), None)
    if view is None:
        missing = message("consent.not_found")
        return _page(request, runtime, "error.html", {"message": missing.ja if _ja(request) else missing.en}, 404)
    back = page if page in FORM_PAGES else "/consent"
    return _page(request, runtime, "consent_revoke_confirm.html", {"v": view, "back": back})
