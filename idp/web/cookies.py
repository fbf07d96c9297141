"""The cookies and headers that sign-in and sign-out set: the session cookie (idp/sessions.py), the
known-device cookie (idp/known_devices.py; NIST SP 800-63B §5.2.2) and, when staff sign out,
``Clear-Site-Data`` (issue 12 item 10)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from idp.known_devices import LIFETIME
from idp.models import Account, AccountKind
from idp.web.deps import IdpRuntime


def set_session_cookie(response: Response, runtime: IdpRuntime, token: str) -> None:
    config = runtime.config
    response.set_cookie(
        config.cookie_prefix + config.cookie_name,
        token,
        httponly=True,
        secure=config.secure_cookies,
        samesite="lax",
        path="/",
    )


def device_cookie(request: Request, runtime: IdpRuntime) -> str | None:
    return request.cookies.get(runtime.signin.devices.cookie_name)


def remember_device(request: Request, response: Response, runtime: IdpRuntime, account_id: int) -> None:
    """After a completed sign-in: this browser is a known device of the account, with its own
    throttle budget from now on (idp/known_devices.py; NIST SP 800-63B §5.2.2)."""
    devices = runtime.signin.devices
    value = devices.remember(device_cookie(request, runtime), account_id=account_id, now=runtime.clock())
    response.set_cookie(
        devices.cookie_name,
        value,
        max_age=int(LIFETIME.total_seconds()),
        httponly=True,
        secure=runtime.config.secure_cookies,
        samesite="lax",
        path="/",
    )


#: W3C Clear Site Data §3.1: the HTTP cache and every storage of this origin (IndexedDB, localStorage,
#: service workers); not "cookies", which would also forget the browser's known-device cookie.
CLEAR_STAFF_DEVICE = '"cache", "storage"'


def clear_staff_device(response: Response, account: Account) -> None:
    """On the sign-out of gate staff, employer staff or an operator, the browser deletes what this origin
    stored: a shared gate tablet keeps no rosters, face photos, operator details or queue of the previous
    person (issue 12 item 10). Never for a technician: the web wallet keeps his credential keys in
    IndexedDB on this same origin, and "storage" would destroy them."""
    if account.kind in (AccountKind.staff, AccountKind.operator):
        response.headers["Clear-Site-Data"] = CLEAR_STAFF_DEVICE


def clear_session_cookie(response: Response, runtime: IdpRuntime) -> None:
    config = runtime.config
    response.delete_cookie(
        config.cookie_prefix + config.cookie_name, path="/", secure=config.secure_cookies, httponly=True, samesite="lax"
    )
