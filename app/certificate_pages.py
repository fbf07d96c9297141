"""「マイナポータルから資格を取り込む」: the technician-started import (issue 5, item 3).

Wiring between idp (who is signed in, pages) and connectors (source client, verification, storage),
so it lives in ``app``: redirect to the source with PKCE and a state bound to the session, consent
there, come back, fetch, verify against the signed-in technician, show what was imported and why not.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from connectors import pipeline, store
from connectors.ports import SourceError
from connectors.sources.mynaportal.client import MyNaPortalClient, pkce_pair
from connectors.sources.mynaportal.mapper import SOURCE
from connectors.verify import ExpectedHolder
from idp.public import (
    CSRF_FIELD,
    Csrf,
    DbDep,
    IdpRuntime,
    RuntimeDep,
    SignedIn,
    UserDep,
    read_form,
    render,
    technician_for_account,
)

router = APIRouter()
CALLBACK = "/certificates/import/callback"


def _client(request: Request) -> MyNaPortalClient:
    client: MyNaPortalClient = request.app.state.mynaportal
    return client


def _technician(db: DbDep, user: SignedIn | None) -> ExpectedHolder | None:
    if user is None or user.account.id is None:
        return None
    technician = technician_for_account(session=db, account_id=user.account.id)
    if technician is None:
        return None
    return ExpectedHolder(technician.technician_id, technician.name, technician.birth_date)


@router.get("/certificates", response_class=HTMLResponse)
def certificates(request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep) -> Response:
    holder = _technician(db, user)
    if holder is None:
        return RedirectResponse("/login?next=/certificates", status_code=303)
    rows = store.for_technician(db, holder.technician_id)
    return render(request, runtime, "certificates.html", {"certificates": rows})


@router.post("/certificates/import", response_class=HTMLResponse)
async def start_import(request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep) -> Response:
    form = await read_form(request)
    Csrf(runtime.config, runtime.rng).check(request, form.get(CSRF_FIELD))
    if user is None or _technician(db, user) is None:
        return RedirectResponse("/login?next=/certificates", status_code=303)
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    user.web_session.data = {**user.web_session.data, "mnp_state": state, "mnp_verifier": verifier}
    db.add(user.web_session)
    db.commit()
    url = _client(request).authorization_url(
        redirect_uri=runtime.config.issuer + CALLBACK, state=state, code_challenge=challenge
    )
    return RedirectResponse(url, status_code=303)


@router.get(CALLBACK, response_class=HTMLResponse)
async def finish_import(request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep) -> Response:
    holder = _technician(db, user)
    if holder is None or user is None:
        return RedirectResponse("/login?next=" + quote("/certificates"), status_code=303)
    data = user.web_session.data
    state, verifier = data.get("mnp_state"), data.get("mnp_verifier")
    user.web_session.data = {k: v for k, v in data.items() if not k.startswith("mnp_")}  # single use
    db.add(user.web_session)
    db.commit()
    params = request.query_params
    if params.get("error"):
        return _result(request, runtime, error_key="import.denied")
    if not state or not verifier or not secrets.compare_digest(params.get("state", ""), state):
        return _result(request, runtime, error_key="import.state", status=400)
    client = _client(request)
    try:
        token = await run_in_threadpool(
            client.exchange,
            code=params.get("code", ""),
            verifier=verifier,
            redirect_uri=runtime.config.issuer + CALLBACK,
        )
        values = await run_in_threadpool(client.my_records, token)
    except SourceError:
        return _result(request, runtime, error_key="import.source", status=502)
    outcomes = await run_in_threadpool(_import, runtime, values, holder)
    return _result(request, runtime, outcomes=outcomes)


def _import(runtime: IdpRuntime, values: list[str], holder: ExpectedHolder) -> list[pipeline.Outcome]:
    with Session(runtime.engine) as session:
        return pipeline.import_for_technician(session, values, holder=holder, source=SOURCE, now=runtime.clock())


def _result(
    request: Request,
    runtime: IdpRuntime,
    *,
    outcomes: list[pipeline.Outcome] | None = None,
    error_key: str | None = None,
    status: int = 200,
) -> Response:
    outcomes = outcomes or []
    return render(
        request,
        runtime,
        "certificates_import.html",
        {
            "imported": [o for o in outcomes if o.status == "imported"],
            "duplicates": [o for o in outcomes if o.status == "duplicate"],
            "rejected": [o for o in outcomes if o.status == "rejected"],
            "error_key": error_key,
        },
        status=status,
    )
