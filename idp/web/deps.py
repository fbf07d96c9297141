"""Request-scoped dependencies of the idp pages (``Annotated`` aliases)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from sqlmodel import Session

from idp.models import Account, WebSession
from idp.passwords import Passwords
from idp.runtime import Clock, IdpConfig, Randomness
from idp.secretbox import SecretBox
from idp.sessions import SessionStore
from idp.signin import SignIn
from idp.throttle import Throttler
from idp.web.home import SectionSource


@dataclass
class IdpRuntime:
    """Everything the idp routes use, built once per app by ``app.factory``."""

    config: IdpConfig
    engine: Engine
    clock: Clock
    rng: Randomness
    passwords: Passwords
    sessions: SessionStore
    throttle: Throttler
    totp_box: SecretBox
    signin: SignIn
    templates: Jinja2Templates
    #: the home's sections for roles only the application knows (idp/web/home.py; issue 15 item 4)
    home_sections: tuple[SectionSource, ...] = ()


def get_runtime(request: Request) -> IdpRuntime:
    runtime: IdpRuntime = request.app.state.idp
    return runtime


RuntimeDep = Annotated[IdpRuntime, Depends(get_runtime)]


def get_db(runtime: RuntimeDep) -> Iterator[Session]:
    with Session(runtime.engine, expire_on_commit=False) as session:
        yield session


DbDep = Annotated[Session, Depends(get_db)]


def client_ip(request: Request) -> str:
    """The peer address; a trusted proxy's X-Forwarded-For is applied by uvicorn's proxy-headers setting."""
    return request.client.host if request.client else "unknown"


def session_cookie(request: Request, runtime: IdpRuntime) -> str | None:
    return request.cookies.get(runtime.config.cookie_prefix + runtime.config.cookie_name)


@dataclass(frozen=True)
class SignedIn:
    account: Account
    web_session: WebSession
    token: str


def current_user(request: Request, runtime: RuntimeDep, db: DbDep) -> SignedIn | None:
    token = session_cookie(request, runtime)
    ws = runtime.sessions.load(session=db, raw=token, now=runtime.clock())
    if ws is None or ws.account_id is None or token is None:
        return None
    account = db.get(Account, ws.account_id)
    if account is None or account.disabled:
        return None
    db.commit()  # persist the idle-timeout touch
    signed_in = SignedIn(account=account, web_session=ws, token=token)
    request.state.signed_in = signed_in  # the shared header's sign-out and way home (idp/web/render.py)
    return signed_in


def signed_in_of(request: Request) -> SignedIn | None:
    """Who this request was found to be signed in as, if its route asked (:data:`UserDep`); ``None``
    after the route signed them out (:func:`signed_out`)."""
    found = getattr(request.state, "signed_in", None)
    return found if isinstance(found, SignedIn) else None


def signed_out(request: Request) -> None:
    """The route has just ended this request's session: its page shows no signed-in header."""
    request.state.signed_in = None


UserDep = Annotated[SignedIn | None, Depends(current_user)]
