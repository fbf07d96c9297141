"""RP-initiated logout pages (OIDC RP-Initiated Logout 1.0 §2-§3) and the sign-out hook that starts
back-channel logout for every relying party of the ended session."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from idp.oauth import logout
from idp.oauth.http import ProtocolError, form_params, query_params
from idp.oauth.runtime import OAuthDep, OAuthRuntime
from idp.web.cookies import clear_session_cookie, clear_staff_device
from idp.web.deps import DbDep, IdpRuntime, RuntimeDep, UserDep
from idp.web.forms import CSRF_FIELD, Csrf, read_form
from idp.web.render import render

router = APIRouter()
PASSED = ("client_id", "id_token_hint", "post_logout_redirect_uri", "state", "ui_locales")


def notify_session_end(
    oauth: OAuthRuntime, db: Session, *, account_id: int, sid: str | None, tasks: BackgroundTasks
) -> None:
    """Queue logout tokens for the ended session(s) and try to deliver them right after the response."""
    if logout.session_ended(oauth.services, db, account_id=account_id, sid=sid, now=oauth.services.clock()):
        tasks.add_task(logout.deliver_now, oauth.services, oauth.poster)


def _redirect(request: EndRequest) -> str | None:
    if request.post_logout_redirect_uri is None:
        return None
    query = urlencode({"state": request.state}) if request.state is not None else ""
    sep = "&" if "?" in request.post_logout_redirect_uri else "?"
    return request.post_logout_redirect_uri + (sep + query if query else "")


EndRequest = logout.EndSessionRequest


@router.api_route("/session/end", methods=["GET", "POST"], response_class=HTMLResponse)
async def end_session(request: Request, runtime: RuntimeDep, oauth: OAuthDep, db: DbDep, user: UserDep) -> Response:
    try:
        params = query_params(request) if request.method == "GET" else await form_params(request)
        parsed = logout.parse_end_session(oauth.services, db, params)
    except (ProtocolError, logout.EndSessionError) as exc:
        return render(
            request, runtime, "oauth_error.html", {"error": "invalid_request", "description": str(exc)}, status=400
        )
    if user is None:
        target = _redirect(parsed)
        return (
            RedirectResponse(target, status_code=303)
            if target
            else render(request, runtime, "logout.html", {"done": True})
        )
    kept = {k: v for k, v in params.items() if k in PASSED}
    return render(
        request, runtime, "end_session.html", {"client": parsed.client.row if parsed.client else None, "params": kept}
    )


@router.post("/session/end/confirm", response_class=HTMLResponse)
async def end_session_confirm(
    request: Request, runtime: RuntimeDep, oauth: OAuthDep, db: DbDep, user: UserDep, tasks: BackgroundTasks
) -> Response:
    form = await read_form(request)
    Csrf(runtime.config, runtime.rng).check(request, form.get(CSRF_FIELD))
    try:
        parsed = logout.parse_end_session(oauth.services, db, {k: v for k, v in form.items() if k in PASSED})
    except logout.EndSessionError as exc:
        return render(
            request, runtime, "oauth_error.html", {"error": "invalid_request", "description": str(exc)}, status=400
        )
    if form.get("logout") != "yes":
        return RedirectResponse("/account", status_code=303)
    if user is not None and user.account.id is not None:
        end_browser_session(runtime, oauth, db, user.token, user.account.id, user.web_session.sid, tasks)
    target = _redirect(parsed)
    response: Response = (
        RedirectResponse(target, status_code=303) if target else render(request, runtime, "logout.html", {"done": True})
    )
    clear_session_cookie(response, runtime)
    if user is not None:
        clear_staff_device(response, user.account)
    return response


def end_browser_session(
    runtime: IdpRuntime,
    oauth: OAuthRuntime,
    db: Session,
    token: str,
    account_id: int,
    sid: str | None,
    tasks: BackgroundTasks,
) -> None:
    from idp import audit
    from idp.audit import AuditEvents

    runtime.sessions.revoke(session=db, raw=token, now=runtime.clock())
    notify_session_end(oauth, db, account_id=account_id, sid=sid, tasks=tasks)
    audit.record(
        session=db,
        event=AuditEvents.SIGNOUT,
        outcome="success",
        now=runtime.clock(),
        account_id=account_id,
        detail={"via": "rp-initiated"},
    )
    db.commit()
