"""Sign-in pages: password, second factor, recovery code, forced TOTP enrolment, passkey, sign-out.

Form field names ``username``, ``password`` and ``otp`` are an integration contract (issue 2, item 7).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from idp import audit, enrolment, passkeys
from idp.audit import AuditEvents
from idp.oauth import logout as oidc_logout
from idp.signin import PASSWORD_AND_OTP, STEP_OTP, Outcome
from idp.validation import FieldProblem
from idp.web.cookies import clear_session_cookie, clear_staff_device, device_cookie, remember_device, set_session_cookie
from idp.web.deps import DbDep, IdpRuntime, RuntimeDep, UserDep, client_ip, session_cookie, signed_out
from idp.web.forms import CSRF_FIELD, BadForm, Csrf, read_form
from idp.web.render import render

router = APIRouter()
STEP_PASSKEY = "passkey"


def safe_next(value: str | None) -> str:
    """Only local absolute paths: never an open redirect (RFC 9700 §4.11)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 2000:
        return "/account"
    if any(ord(ch) < 33 for ch in value):
        return "/account"
    return value


def _login_page(
    request: Request, runtime: IdpRuntime, *, status: int = 200, session: str | None = None, **ctx: Any
) -> HTMLResponse:
    """``session=""`` when the response clears the session cookie: the form token is then bound to none."""
    ctx.setdefault("next", safe_next(request.query_params.get("next")))
    ctx.setdefault("username", request.query_params.get("login_hint", "")[:254])  # OIDC Core §3.1.2.1
    return render(request, runtime, "login.html", ctx, status=status, session=session)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, runtime: RuntimeDep, user: UserDep) -> Response:
    if user is not None:
        return RedirectResponse("/account", status_code=303)
    return render(request, runtime, "home.html")


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, runtime: RuntimeDep, db: DbDep) -> HTMLResponse:
    """The sign-in form. A browser that still carries the cookie of a session that ended by itself (idle
    or past its lifetime) is told why it is here, once (the stale cookie is cleared): issue 15, Broken 3."""
    if not runtime.sessions.ended_by_time(session=db, raw=session_cookie(request, runtime), now=runtime.clock()):
        return _login_page(request, runtime)
    response = _login_page(request, runtime, session="", notice_key="signin.session_ended")
    clear_session_cookie(response, runtime)
    return response


@router.post("/login", response_class=HTMLResponse)
async def login_submit(request: Request, runtime: RuntimeDep, db: DbDep) -> Response:
    form = await read_form(request)
    Csrf(runtime.config, runtime.rng).check(request, form.get(CSRF_FIELD))
    username, nxt = form.get("username", ""), safe_next(form.get("next"))
    # argon2id takes tens of milliseconds: keep it off the event loop.
    result = await run_in_threadpool(
        runtime.signin.password,
        db,
        username=username,
        password=form.get("password", ""),
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        device_cookie=device_cookie(request, runtime),
    )
    if result.outcome is Outcome.THROTTLED:
        response = _login_page(
            request,
            runtime,
            status=429,
            username=username,
            next=nxt,
            error_key="signin.throttled",
            seconds=result.retry_after,
        )
        response.headers["Retry-After"] = str(result.retry_after)
        return response
    if result.outcome is not Outcome.NEXT_STEP or result.session_token is None:
        return _login_page(request, runtime, status=401, username=username, next=nxt, error_key="signin.failed")
    _remember_next(runtime, db, result.session_token, nxt)
    target = "/login/otp" if result.step == STEP_OTP else "/login/enrol"
    redirect = RedirectResponse(target, status_code=303)
    set_session_cookie(redirect, runtime, result.session_token)
    return redirect


def _remember_next(runtime: IdpRuntime, db: DbDep, token: str, nxt: str) -> None:
    pending = runtime.sessions.load(session=db, raw=token, now=runtime.clock(), state="pending")
    if pending is not None:
        pending.data = {**pending.data, "next": nxt}
        db.add(pending)
        db.commit()


def _pending_next(runtime: IdpRuntime, db: DbDep, token: str | None) -> str:
    pending = runtime.sessions.load(session=db, raw=token, now=runtime.clock(), state="pending")
    return safe_next(pending.data.get("next") if pending else None)


def _expired(request: Request, runtime: IdpRuntime) -> HTMLResponse:
    response = _login_page(request, runtime, status=401, session="", error_key="signin.expired")
    clear_session_cookie(response, runtime)
    return response


@router.get("/login/otp", response_class=HTMLResponse)
def otp_form(request: Request, runtime: RuntimeDep, db: DbDep) -> HTMLResponse:
    pending = runtime.sessions.load(
        session=db, raw=session_cookie(request, runtime), now=runtime.clock(), state="pending"
    )
    if pending is None or pending.data.get("step") != STEP_OTP:
        return _expired(request, runtime)
    return render(request, runtime, "otp.html", {"recovery": False})


@router.get("/login/recovery", response_class=HTMLResponse)
def recovery_form(request: Request, runtime: RuntimeDep, db: DbDep) -> HTMLResponse:
    pending = runtime.sessions.load(
        session=db, raw=session_cookie(request, runtime), now=runtime.clock(), state="pending"
    )
    if pending is None or pending.data.get("step") != STEP_OTP:
        return _expired(request, runtime)
    return render(request, runtime, "otp.html", {"recovery": True})


async def _second_factor(request: Request, runtime: IdpRuntime, db: DbDep, *, recovery: bool) -> Response:
    form = await read_form(request)
    Csrf(runtime.config, runtime.rng).check(request, form.get(CSRF_FIELD))
    token = session_cookie(request, runtime)
    nxt = _pending_next(runtime, db, token)
    field = "recovery_code" if recovery else "otp"
    result = runtime.signin.second_factor(
        db,
        pending_token=token,
        otp=form.get(field, ""),
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        recovery_code=recovery,
        device_cookie=device_cookie(request, runtime),
    )
    if result.outcome is Outcome.EXPIRED:
        return _expired(request, runtime)
    if result.outcome is Outcome.THROTTLED:
        response = render(
            request,
            runtime,
            "otp.html",
            {"recovery": recovery, "error_key": "signin.throttled", "seconds": result.retry_after},
            status=429,
        )
        response.headers["Retry-After"] = str(result.retry_after)
        return response
    if result.outcome is not Outcome.SIGNED_IN or result.session_token is None:
        key = "recovery.failed" if recovery else "otp.failed"
        return render(request, runtime, "otp.html", {"recovery": recovery, "error_key": key}, status=401)
    redirect = RedirectResponse(nxt, status_code=303)
    set_session_cookie(redirect, runtime, result.session_token)
    if result.account_id is not None:
        remember_device(request, redirect, runtime, result.account_id)
    return redirect


@router.post("/login/otp", response_class=HTMLResponse)
async def otp_submit(request: Request, runtime: RuntimeDep, db: DbDep) -> Response:
    return await _second_factor(request, runtime, db, recovery=False)


@router.post("/login/recovery", response_class=HTMLResponse)
async def recovery_submit(request: Request, runtime: RuntimeDep, db: DbDep) -> Response:
    return await _second_factor(request, runtime, db, recovery=True)


@router.get("/login/enrol", response_class=HTMLResponse)
def enrol_form(request: Request, runtime: RuntimeDep, db: DbDep) -> HTMLResponse:
    """An account without a second factor must enrol one before the sign-in completes."""
    token = session_cookie(request, runtime)
    account = runtime.signin.enrolment_account(db, pending_token=token)
    pending = runtime.sessions.load(session=db, raw=token, now=runtime.clock(), state="pending")
    if account is None or pending is None:
        return _expired(request, runtime)
    sealed = pending.data.get("totp_offer")
    if sealed:
        offer = enrolment.reopen_offer(account=account, sealed=sealed, box=runtime.totp_box)
    else:
        offer = enrolment.offer_totp(account=account, box=runtime.totp_box, rng=runtime.rng)
        pending.data = {**pending.data, "totp_offer": offer.sealed}
        db.add(pending)
        db.commit()
    return render(request, runtime, "enrol_totp.html", {"offer": offer, "action": "/login/enrol", "forced": True})


@router.post("/login/enrol", response_class=HTMLResponse)
async def enrol_submit(request: Request, runtime: RuntimeDep, db: DbDep) -> Response:
    form = await read_form(request)
    Csrf(runtime.config, runtime.rng).check(request, form.get(CSRF_FIELD))
    token = session_cookie(request, runtime)
    account = runtime.signin.enrolment_account(db, pending_token=token)
    pending = runtime.sessions.load(session=db, raw=token, now=runtime.clock(), state="pending")
    if account is None or account.id is None or pending is None or "totp_offer" not in pending.data or token is None:
        return _expired(request, runtime)
    now, ip = runtime.clock(), client_ip(request)
    try:
        codes = enrolment.confirm_totp(
            session=db,
            account=account,
            sealed=pending.data["totp_offer"],
            code=form.get("otp", ""),
            box=runtime.totp_box,
            rng=runtime.rng,
            now=now,
            ip=ip,
        )
    except FieldProblem:
        offer = enrolment.reopen_offer(account=account, sealed=pending.data["totp_offer"], box=runtime.totp_box)
        return render(
            request,
            runtime,
            "enrol_totp.html",
            {"offer": offer, "action": "/login/enrol", "forced": True, "error_key": "enrol.failed"},
            status=400,
        )
    nxt = safe_next(pending.data.get("next"))
    new_token = runtime.sessions.activate(
        session=db,
        account_id=account.id,
        auth=PASSWORD_AND_OTP,
        now=now,
        ip=ip,
        user_agent=request.headers.get("user-agent"),
        replaces=token,
    )
    audit.record(
        session=db,
        event=AuditEvents.SIGNIN_SECOND_FACTOR,
        outcome="success",
        now=now,
        account_id=account.id,
        subject=account.username,
        ip=ip,
        detail={"via": "enrolment"},
    )
    db.commit()
    response = render(request, runtime, "recovery_codes.html", {"codes": codes, "next": nxt}, session=new_token)
    set_session_cookie(response, runtime, new_token)
    remember_device(request, response, runtime, account.id)
    return response


def _json_csrf(request: Request, runtime: IdpRuntime) -> None:
    Csrf(runtime.config, runtime.rng).check(request, request.headers.get("x-csrf-token"))


@router.post("/login/passkey/options")
def passkey_options(request: Request, runtime: RuntimeDep, db: DbDep) -> Response:
    """Start a discoverable-credential assertion (WebAuthn §5.1.4); the challenge is kept server-side."""
    _json_csrf(request, runtime)
    ceremony = passkeys.authentication_options(config=runtime.config, rng=runtime.rng)
    nxt = safe_next(request.query_params.get("next"))
    token = runtime.sessions.start_pending(
        session=db,
        account_id=None,
        now=runtime.clock(),
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        data={"step": STEP_PASSKEY, "challenge": ceremony.challenge, "next": nxt},
    )
    db.commit()
    response = Response(ceremony.options_json, media_type="application/json")
    set_session_cookie(response, runtime, token)
    # The form token is bound to the session (idp/web/forms.py): the verify step needs one for the new one.
    csrf = Csrf(runtime.config, runtime.rng)
    cookies: dict[str, str] = {}
    response.headers["X-CSRF-Token"] = csrf.token_for(request, cookies, session=token)
    for value in cookies.values():
        csrf.set_cookie(response, value)
    return response


@router.post("/login/passkey/verify")
async def passkey_verify(request: Request, runtime: RuntimeDep, db: DbDep) -> Response:
    _json_csrf(request, runtime)
    now, ip = runtime.clock(), client_ip(request)
    token = session_cookie(request, runtime)
    pending = runtime.sessions.load(session=db, raw=token, now=now, state="pending")
    if pending is None or pending.data.get("step") != STEP_PASSKEY or token is None:
        return JSONResponse(
            {"error": "expired", "message": "サインインの有効期限が切れました / sign-in expired"}, status_code=401
        )
    challenge, nxt = pending.data["challenge"], safe_next(pending.data.get("next"))
    db.delete(pending)  # the challenge is single-use, whatever the outcome
    db.commit()
    try:
        credential = passkeys.parse_credential(await request.body())
        passkey, auth = passkeys.authenticate(
            session=db, config=runtime.config, credential=credential, challenge=challenge, now=now
        )
    except passkeys.PasskeyError as exc:
        db.rollback()
        audit.record(
            session=db, event=AuditEvents.SIGNIN_PASSKEY, outcome="failure", now=now, ip=ip, detail={"reason": str(exc)}
        )
        db.commit()
        return JSONResponse(
            {"error": "passkey_failed", "message": f"パスキーを確認できませんでした / {exc}"}, status_code=401
        )
    new_token = runtime.sessions.activate(
        session=db,
        account_id=passkey.account_id,
        auth=auth,
        now=now,
        ip=ip,
        user_agent=request.headers.get("user-agent"),
    )
    audit.record(
        session=db,
        event=AuditEvents.SIGNIN_PASSKEY,
        outcome="success",
        now=now,
        account_id=passkey.account_id,
        ip=ip,
        detail={"amr": " ".join(auth.amr)},
    )
    db.commit()
    response = JSONResponse({"redirect": nxt})
    set_session_cookie(response, runtime, new_token)
    remember_device(request, response, runtime, passkey.account_id)
    return response


@router.get("/logout", response_class=HTMLResponse)
def logout_form(request: Request, runtime: RuntimeDep, user: UserDep) -> HTMLResponse:
    return render(request, runtime, "logout.html", {"done": user is None})


@router.post("/logout", response_class=HTMLResponse)
async def logout_submit(
    request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep, tasks: BackgroundTasks
) -> Response:
    """Sign out here, or everywhere; relying parties of the ended sessions get back-channel logout tokens."""
    form = await read_form(request)
    Csrf(runtime.config, runtime.rng).check(request, form.get(CSRF_FIELD))
    now = runtime.clock()
    if user is not None and user.account.id is not None:
        everywhere = form.get("everywhere") == "1"
        if everywhere:
            runtime.sessions.revoke_all(session=db, account_id=user.account.id, now=now)
        else:
            runtime.sessions.revoke(session=db, raw=user.token, now=now)
        oauth = request.app.state.oauth
        if oidc_logout.session_ended(
            oauth.services, db, account_id=user.account.id, sid=None if everywhere else user.web_session.sid, now=now
        ):
            tasks.add_task(oidc_logout.deliver_now, oauth.services, oauth.poster)
        audit.record(
            session=db,
            event=AuditEvents.SIGNOUT_EVERYWHERE if everywhere else AuditEvents.SIGNOUT,
            outcome="success",
            now=now,
            account_id=user.account.id,
            subject=user.account.username,
            ip=client_ip(request),
        )
        db.commit()
    signed_out(request)
    response = render(request, runtime, "logout.html", {"done": True})
    clear_session_cookie(response, runtime)
    if user is not None:
        clear_staff_device(response, user.account)
    return response


__all__ = ["BadForm", "router", "safe_next"]
