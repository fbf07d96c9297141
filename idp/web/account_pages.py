"""My account: my data, my sessions, second factors (TOTP, recovery codes, passkeys), password.

Changing a security setting needs a sign-in within the last 15 minutes (OWASP ASVS V2.5/V3.7:
re-authenticate before sensitive operations).
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlmodel import col, select

from idp import accounts, audit, enrolment, passkeys, recovery
from idp.audit import AuditEvents
from idp.models import Passkey
from idp.oauth import logout as oidc_logout
from idp.validation import FieldProblem, clean_text
from idp.web.cookies import clear_session_cookie, clear_staff_device
from idp.web.deps import DbDep, IdpRuntime, RuntimeDep, SignedIn, UserDep, client_ip
from idp.web.forms import CSRF_FIELD, Csrf, read_form
from idp.web.home import sections_for
from idp.web.render import render
from idp.web.return_to import sign_in_again

router = APIRouter()
RECENT = timedelta(minutes=15)


def _to_login(request: Request, form_page: str = "/account") -> RedirectResponse:
    """Back to the page after signing in: a GET to itself, a form's POST to the page the form is on (the
    account page, or the TOTP page for its own form), never to the POST (issue 15, Broken 3)."""
    return sign_in_again(request, form_page=form_page)


def _recent(runtime: IdpRuntime, user: SignedIn) -> bool:
    auth_time = user.web_session.auth_time
    return auth_time is not None and runtime.clock() - auth_time <= RECENT


def _account_page(
    request: Request, runtime: IdpRuntime, db: DbDep, user: SignedIn, *, status: int = 200, **extra: object
) -> HTMLResponse:
    account = user.account
    assert account.id is not None
    now = runtime.clock()
    technician = accounts.technician_for_account(session=db, account_id=account.id)
    history = (
        accounts.affiliation_history(session=db, technician_pk=technician.id) if technician and technician.id else []
    )
    staff = accounts.staff_for_account(session=db, account_id=account.id)
    keys = db.exec(select(Passkey).where(col(Passkey.account_id) == account.id)).all()
    ctx = {
        "account": account,
        "technician": technician,
        "history": history,
        "staff": staff,
        "passkeys": keys,
        "sessions": runtime.sessions.list_active(session=db, account_id=account.id, now=now),
        "current_session": user.web_session.id_hash,
        "codes_left": recovery.remaining(session=db, account_id=account.id),
        "home_sections": sections_for(runtime.home_sections, db, account),  # each role's actions (issue 15 item 4)
        **extra,
    }
    return render(request, runtime, "account.html", ctx, status=status)


@router.get("/account", response_class=HTMLResponse)
def account_home(request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep) -> Response:
    if user is None:
        return _to_login(request)
    notice = {"passkey": "account.passkey_added", "password": "account.password_changed"}.get(
        request.query_params.get("saved", "")
    )
    return _account_page(request, runtime, db, user, notice_key=notice)


@router.get("/account/photo")
def account_photo(request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep) -> Response:
    """The face photo is shown to its owner only (disclosure to others goes through consent)."""
    if user is None or user.account.id is None:
        return Response(status_code=401)
    technician = accounts.technician_for_account(session=db, account_id=user.account.id)
    if technician is None or technician.face_photo is None:
        return Response(status_code=404)
    return Response(
        technician.face_photo,
        media_type=technician.face_photo_type or "application/octet-stream",
        headers={"Cache-Control": "private, no-store"},
    )


@router.get("/account/totp", response_class=HTMLResponse)
def totp_form(request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep) -> Response:
    if user is None or not _recent(runtime, user):
        return _to_login(request)
    offer = enrolment.offer_totp(account=user.account, box=runtime.totp_box, rng=runtime.rng)
    user.web_session.data = {**user.web_session.data, "totp_offer": offer.sealed}
    db.add(user.web_session)
    db.commit()
    return render(request, runtime, "enrol_totp.html", {"offer": offer, "action": "/account/totp", "forced": False})


@router.post("/account/totp", response_class=HTMLResponse)
async def totp_submit(request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep) -> Response:
    form = await read_form(request)
    Csrf(runtime.config, runtime.rng).check(request, form.get(CSRF_FIELD))
    if user is None or not _recent(runtime, user) or "totp_offer" not in user.web_session.data:
        return _to_login(request, "/account/totp")
    sealed = user.web_session.data["totp_offer"]
    try:
        codes = enrolment.confirm_totp(
            session=db,
            account=user.account,
            sealed=sealed,
            code=form.get("otp", ""),
            box=runtime.totp_box,
            rng=runtime.rng,
            now=runtime.clock(),
            ip=client_ip(request),
        )
    except FieldProblem:
        offer = enrolment.reopen_offer(account=user.account, sealed=sealed, box=runtime.totp_box)
        return render(
            request,
            runtime,
            "enrol_totp.html",
            {"offer": offer, "action": "/account/totp", "forced": False, "error_key": "enrol.failed"},
            status=400,
        )
    user.web_session.data = {k: v for k, v in user.web_session.data.items() if k != "totp_offer"}
    db.add(user.web_session)
    db.commit()
    return render(request, runtime, "recovery_codes.html", {"codes": codes, "next": "/account"})


@router.post("/account/recovery-codes", response_class=HTMLResponse)
async def recovery_codes(request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep) -> Response:
    form = await read_form(request)
    Csrf(runtime.config, runtime.rng).check(request, form.get(CSRF_FIELD))
    if user is None or user.account.id is None or not _recent(runtime, user):
        return _to_login(request)
    codes = recovery.replace_codes(session=db, account_id=user.account.id, rng=runtime.rng)
    audit.record(
        session=db,
        event=AuditEvents.RECOVERY_CODES_REPLACED,
        outcome="success",
        now=runtime.clock(),
        account_id=user.account.id,
        subject=user.account.username,
        ip=client_ip(request),
    )
    db.commit()
    return render(request, runtime, "recovery_codes.html", {"codes": codes, "next": "/account"})


@router.post("/account/passkeys/options")
def passkey_options(request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep) -> Response:
    Csrf(runtime.config, runtime.rng).check(request, request.headers.get("x-csrf-token"))
    if user is None or user.account.id is None:
        return JSONResponse({"error": "login_required"}, status_code=401)
    if not _recent(runtime, user):
        return JSONResponse({"error": "reauthentication_required", "redirect": "/login?next=/account"}, status_code=401)
    existing = list(db.exec(select(Passkey).where(col(Passkey.account_id) == user.account.id)).all())
    ceremony = passkeys.registration_options(
        config=runtime.config, account=user.account, existing=existing, rng=runtime.rng
    )
    user.web_session.data = {**user.web_session.data, "passkey_challenge": ceremony.challenge}
    db.add(user.web_session)
    db.commit()
    return Response(ceremony.options_json, media_type="application/json")


@router.post("/account/passkeys/verify")
async def passkey_verify(request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep) -> Response:
    Csrf(runtime.config, runtime.rng).check(request, request.headers.get("x-csrf-token"))
    if user is None or user.account.id is None:
        return JSONResponse({"error": "login_required"}, status_code=401)
    challenge = user.web_session.data.get("passkey_challenge")
    if not challenge:
        return JSONResponse(
            {"error": "expired", "message": "もう一度お試しください / please try again"}, status_code=400
        )
    user.web_session.data = {k: v for k, v in user.web_session.data.items() if k != "passkey_challenge"}
    db.add(user.web_session)
    now = runtime.clock()
    try:
        credential = passkeys.parse_credential(await request.body())
        label = clean_text(str(credential.get("label") or "passkey"), field="label", max_length=100)
        passkeys.register(
            session=db,
            config=runtime.config,
            account_id=user.account.id,
            credential=credential,
            challenge=challenge,
            label=label,
            now=now,
        )
    except (passkeys.PasskeyError, FieldProblem) as exc:
        db.commit()  # the challenge stays consumed
        return JSONResponse(
            {"error": "passkey_failed", "message": f"パスキーを登録できませんでした / {exc}"}, status_code=400
        )
    audit.record(
        session=db,
        event=AuditEvents.PASSKEY_ENROLLED,
        outcome="success",
        now=now,
        account_id=user.account.id,
        subject=user.account.username,
        ip=client_ip(request),
    )
    db.commit()
    return JSONResponse({"redirect": "/account?saved=passkey"})


@router.post("/account/passkeys/{passkey_id}/delete", response_class=HTMLResponse)
async def passkey_delete(passkey_id: int, request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep) -> Response:
    form = await read_form(request)
    Csrf(runtime.config, runtime.rng).check(request, form.get(CSRF_FIELD))
    if user is None or not _recent(runtime, user):
        return _to_login(request)
    passkey = db.get(Passkey, passkey_id)
    if passkey is None or passkey.account_id != user.account.id:
        return Response(status_code=404)
    db.delete(passkey)
    audit.record(
        session=db,
        event=AuditEvents.PASSKEY_REMOVED,
        outcome="success",
        now=runtime.clock(),
        account_id=user.account.id,
        subject=user.account.username,
        ip=client_ip(request),
    )
    db.commit()
    return RedirectResponse("/account", status_code=303)


@router.post("/account/password", response_class=HTMLResponse)
async def password_change(
    request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep, tasks: BackgroundTasks
) -> Response:
    form = await read_form(request)
    Csrf(runtime.config, runtime.rng).check(request, form.get(CSRF_FIELD))
    if user is None:
        return _to_login(request)
    try:
        enrolment.change_password(
            session=db,
            account=user.account,
            current=form.get("current_password", ""),
            new=form.get("new_password", ""),
            passwords=runtime.passwords,
            now=runtime.clock(),
            ip=client_ip(request),
        )
    except FieldProblem as problem:
        db.commit()  # keep the audit record of a failed attempt
        return _account_page(request, runtime, db, user, status=400, problem=problem)
    end_other_sessions(request, runtime, db, user, tasks)
    db.commit()
    return RedirectResponse("/account?saved=password", status_code=303)


def end_other_sessions(
    request: Request, runtime: IdpRuntime, db: DbDep, user: SignedIn, tasks: BackgroundTasks
) -> None:
    """A new password ends every other browser session of the account (issue 12 item 8: a thief's
    session must not outlive the password change); this one goes on. Relying parties of the ended
    sessions get back-channel logout tokens (OIDC Back-Channel Logout 1.0 §2.5)."""
    assert user.account.id is not None
    now, oauth = runtime.clock(), request.app.state.oauth
    ended = runtime.sessions.revoke_others(session=db, account_id=user.account.id, keep=user.token, now=now)
    queued = 0
    for sid in {sid for sid in ended if sid}:
        queued += oidc_logout.session_ended(oauth.services, db, account_id=user.account.id, sid=sid, now=now)
    if queued:
        tasks.add_task(oidc_logout.deliver_now, oauth.services, oauth.poster)
    if ended:
        audit.record(
            session=db,
            event=AuditEvents.SIGNOUT,
            outcome="success",
            now=now,
            account_id=user.account.id,
            subject=user.account.username,
            ip=client_ip(request),
            detail={"via": "password-change", "sessions": str(len(ended))},
        )


@router.post("/account/sessions/{prefix}/revoke", response_class=HTMLResponse)
async def session_revoke(prefix: str, request: Request, runtime: RuntimeDep, db: DbDep, user: UserDep) -> Response:
    form = await read_form(request)
    Csrf(runtime.config, runtime.rng).check(request, form.get(CSRF_FIELD))
    if user is None or user.account.id is None:
        return _to_login(request)
    now = runtime.clock()
    for ws in runtime.sessions.list_active(session=db, account_id=user.account.id, now=now):
        if len(prefix) >= 16 and ws.id_hash.startswith(prefix):
            ws.revoked_at = now
            db.add(ws)
            audit.record(
                session=db,
                event=AuditEvents.SIGNOUT,
                outcome="success",
                now=now,
                account_id=user.account.id,
                subject=user.account.username,
                ip=client_ip(request),
                detail={"session": prefix[:16]},
            )
    db.commit()
    if len(prefix) >= 16 and user.web_session.id_hash.startswith(prefix):
        response = RedirectResponse("/login", status_code=303)
        clear_session_cookie(response, runtime)
        clear_staff_device(response, user.account)
        return response
    return RedirectResponse("/account", status_code=303)
