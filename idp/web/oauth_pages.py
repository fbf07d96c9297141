"""Browser side of the OpenID provider: authorization, consent (field ``decision``: approve|deny),
form_post responses, and RP-initiated logout."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from consent.groups import LABELS as GROUP_LABELS
from idp import accounts
from idp.consent_notice import NOTHING, Preview, ReleasePreviewer
from idp.models import OidcConsent
from idp.oauth.authorize import Browser, ErrorPage, NeedConsent, NeedLogin, Outcome
from idp.oauth.claims import parse_claims_param
from idp.oauth.config import bound_session
from idp.oauth.http import ProtocolError, form_params, query_params
from idp.oauth.responses import RedirectBack
from idp.oauth.runtime import OAuthDep, OAuthRuntime
from idp.web.deps import IdpRuntime, RuntimeDep, SignedIn, current_user
from idp.web.forms import CSRF_FIELD, Csrf, read_form
from idp.web.render import render

router = APIRouter()


def _browser(request: Request, runtime: IdpRuntime, db: Session) -> Browser | None:
    user: SignedIn | None = current_user(request, runtime, db)
    return Browser(user.account, user.web_session) if user else None


def _preview(
    runtime: IdpRuntime, previewer: ReleasePreviewer | None, request: Request, outcome: NeedConsent
) -> Preview | None:
    """For a technician, what will leave and what waits, as the consent engine decides it
    (the ``ReleasePreviewer`` the application wires, ``idp.consent_notice``); ``None`` for anyone
    else (their scopes say it all)."""
    from idp.models import Interaction
    from idp.oauth.tokens import token_hash

    with Session(runtime.engine, expire_on_commit=False) as db:
        browser = _browser(request, runtime, db)
        if browser is None or browser.account.id is None:
            return None
        technician = accounts.technician_for_account(session=db, account_id=browser.account.id)
        if technician is None:
            return None
        row = db.get(Interaction, token_hash(outcome.interaction))
        try:
            claims_param = parse_claims_param(str(row.params.get("claims") or "")) if row else None
        except ValueError:
            claims_param = None  # refused before this page is shown; nothing more is asked for
        if previewer is None:  # no engine wired: nothing about a technician leaves
            return NOTHING
        return previewer(
            db,
            client=outcome.client.row,
            technician=technician,
            scopes=outcome.scopes,
            claims_param=claims_param,
            details=outcome.details,
            now=runtime.clock(),
        )


async def _answer(request: Request, runtime: IdpRuntime, oauth: OAuthRuntime, outcome: Outcome) -> Response:
    previewer = oauth.extensions.release_preview  # the application's, given when the provider was built
    release = (
        await run_in_threadpool(_preview, runtime, previewer, request, outcome)
        if isinstance(outcome, NeedConsent)
        else None
    )
    return _respond(request, runtime, outcome, release=release)


def _respond(request: Request, runtime: IdpRuntime, outcome: Outcome, *, release: Preview | None = None) -> Response:
    if isinstance(outcome, ErrorPage):
        return render(
            request,
            runtime,
            "oauth_error.html",
            {"error": outcome.error, "description": outcome.description},
            status=outcome.status,
        )
    if isinstance(outcome, NeedLogin):
        query = {"next": f"/authorize/continue?interaction={outcome.interaction}"}
        if outcome.login_hint:
            query["login_hint"] = outcome.login_hint[:254]
        if outcome.lang:
            query["lang"] = outcome.lang
        return RedirectResponse("/login?" + urlencode(query), status_code=303)
    if isinstance(outcome, NeedConsent):
        if outcome.lang and request.query_params.get("lang") != outcome.lang:
            return RedirectResponse(
                f"/authorize/continue?interaction={outcome.interaction}&lang={outcome.lang}", status_code=303
            )
        return render(
            request,
            runtime,
            "consent.html",
            {
                "client": outcome.client.row,
                "scopes": outcome.scopes,
                "interaction": outcome.interaction,
                "details": outcome.details,
                "group_labels": GROUP_LABELS,
                "release": release,
            },
        )
    assert isinstance(outcome, RedirectBack)
    if outcome.mode == "form_post":
        response = render(
            request, runtime, "form_post.html", {"action": outcome.redirect_uri, "params": outcome.params}
        )
        # The form posts to the client: allow exactly that target (OAuth 2.0 Form Post Response Mode §2).
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; script-src 'self'; style-src 'self'; form-action "
            + _origin(outcome.redirect_uri)
            + "; frame-ancestors 'none'; base-uri 'none'"
        )
        return response
    return RedirectResponse(outcome.location(), status_code=303 if request.method == "POST" else 302)


def _origin(uri: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


def _run(runtime: IdpRuntime, oauth: OAuthRuntime, request: Request, step: str, **kwargs: object) -> Outcome:
    with Session(runtime.engine, expire_on_commit=False) as db, bound_session(db):
        browser = _browser(request, runtime, db)
        if step == "start":
            outcome = oauth.authorize.start(db, kwargs["params"], browser, request.headers)  # type: ignore[arg-type]
        else:
            outcome = oauth.authorize.resume(
                db,
                str(kwargs["interaction"]),
                browser,
                request.headers,
                consented=bool(kwargs.get("consented")),
                denied=bool(kwargs.get("denied")),
            )
        db.commit()
        return outcome


@router.api_route("/authorize", methods=["GET", "POST"], response_class=HTMLResponse)
async def authorize(request: Request, runtime: RuntimeDep, oauth: OAuthDep) -> Response:
    """OIDC Core §3.1.2.1: GET and POST are both supported."""
    try:
        params = query_params(request) if request.method == "GET" else await form_params(request)
    except ProtocolError as exc:
        return render(
            request, runtime, "oauth_error.html", {"error": exc.error, "description": exc.description}, status=400
        )
    outcome = await run_in_threadpool(_run, runtime, oauth, request, "start", params=params)
    return await _answer(request, runtime, oauth, outcome)


@router.get("/authorize/continue", response_class=HTMLResponse)
async def authorize_continue(request: Request, runtime: RuntimeDep, oauth: OAuthDep) -> Response:
    interaction = request.query_params.get("interaction", "")
    outcome = await run_in_threadpool(_run, runtime, oauth, request, "resume", interaction=interaction)
    return await _answer(request, runtime, oauth, outcome)


@router.post("/authorize/consent", response_class=HTMLResponse)
async def authorize_consent(request: Request, runtime: RuntimeDep, oauth: OAuthDep) -> Response:
    form = await read_form(request)
    Csrf(runtime.config, runtime.rng).check(request, form.get(CSRF_FIELD))
    decision = form.get("decision")
    if decision not in ("approve", "deny"):
        return render(
            request,
            runtime,
            "oauth_error.html",
            {"error": "invalid_request", "description": "decision must be approve or deny"},
            status=400,
        )
    interaction = form.get("interaction", "")
    if decision == "approve" and form.get("remember") == "1":
        await run_in_threadpool(_remember, runtime, request, interaction)
    outcome = await run_in_threadpool(
        _run,
        runtime,
        oauth,
        request,
        "resume",
        interaction=interaction,
        consented=decision == "approve",
        denied=decision == "deny",
    )
    return await _answer(request, runtime, oauth, outcome)


def _remember(runtime: IdpRuntime, request: Request, interaction: str) -> None:
    """Remember the approval for exactly the scopes of this request (never what the form claims)."""
    from idp.models import Interaction
    from idp.oauth.tokens import token_hash

    with Session(runtime.engine, expire_on_commit=False) as db:
        browser = _browser(request, runtime, db)
        row = db.get(Interaction, token_hash(interaction)) if len(interaction) < 100 else None
        if browser is None or row is None or browser.account.id is None:
            return
        stmt = (
            select(OidcConsent)
            .where(col(OidcConsent.account_id) == browser.account.id)
            .where(col(OidcConsent.client_id) == row.client_id)
        )
        existing = db.exec(stmt).first() or OidcConsent(
            account_id=browser.account.id, client_id=row.client_id, updated_at=runtime.clock()
        )
        existing.scopes = sorted(set(existing.scopes) | set(str(row.params.get("scope", "")).split()))
        existing.updated_at = runtime.clock()
        db.add(existing)
        db.commit()
