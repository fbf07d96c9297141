"""Helpers for driving the pages through an ASGI test client."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.factory import create_app
from idp import totp
from idp.web.deps import IdpRuntime
from tests.conftest import make_settings
from tests.support.clock import FrozenClock
from tests.support.world import PASSWORD, Login, world_of

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def build_app(tmp: Path, db_url: str, engine: Engine, clock: FrozenClock, **settings: object) -> FastAPI:
    return create_app(make_settings(tmp, db_url, **settings), clock=clock, engine=engine)


def runtime(app: FastAPI) -> IdpRuntime:
    value: IdpRuntime = app.state.idp
    return value


#: an account that signs in (tools/world.py)
Person = Login


def make_technician(
    app: FastAPI, *, technician_id: str = "10000000000019", with_totp: bool = True, name: str = "鈴木 一郎"
) -> Person:
    with Session(runtime(app).engine, expire_on_commit=False) as s:
        world = world_of(app, s).technician(technician_id, name, password=PASSWORD, totp=with_totp)
        s.commit()
        return world.logins[technician_id]


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def code_now(app: FastAPI, person: Person) -> str:
    assert person.totp_secret
    return totp.current_code(person.totp_secret, now=runtime(app).clock())


def password_step(client: TestClient, username: str, password: str) -> tuple[int, str]:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    return response.status_code, response.headers.get("location", response.text)


def sign_in(client: TestClient, app: FastAPI, person: Person) -> None:
    status, location = password_step(client, person.username, person.password)
    assert status == 303 and location == "/login/otp", (status, location)
    page = client.get("/login/otp")
    response = client.post(
        "/login/otp", data={"otp": code_now(app, person), "csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
