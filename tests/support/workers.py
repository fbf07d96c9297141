"""Two workers on one database, as ``genba serve --workers 2`` runs them, for the worker cache tests
(issue 14, "Caches that are never wrong for long"): two applications, each with its own engine, caches
and (PostgreSQL) listener; and the scene they serve (an employer's system, its technician, tokens)."""

from __future__ import annotations

import hashlib
import json
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jws
from sqlalchemy import Engine
from sqlmodel import Session

from app import database
from tests.support.clock import FrozenClock
from tests.support.oidc import Client, tokens
from tests.support.web import build_app, runtime
from tests.support.world import world_of

EMPLOYER = "31000000000018"
TECHNICIAN = "10000000000019"
SYSTEM = "勤怠管理システム"
REGISTRATION = "initial-access-token-for-the-tests"


@dataclass
class Worker:
    app: FastAPI
    api: TestClient

    @property
    def engine(self) -> Engine:
        engine: Engine = self.app.state.engine
        return engine


@dataclass
class Scene:
    """The employer's own system (authorization code, refresh, client credentials; registered with a
    registration access token), a technician of the employer signed in to it, and their tokens."""

    rp: Client
    registration_token: str
    access_token: str
    refresh_token: str
    gid: str


def start_workers(stack: ExitStack, tmp: Path, db_url: str, clock: FrozenClock, count: int = 2) -> list[Worker]:
    workers = []
    for n in range(count):
        engine = database.make_engine(db_url)
        stack.callback(engine.dispose)
        settings = {"registration_token_sha256": hashlib.sha256(REGISTRATION.encode()).hexdigest()}
        app = build_app(tmp / f"worker{n}", db_url, engine, clock, **settings)
        api = stack.enter_context(TestClient(app, base_url="http://localhost"))
        listener = app.state.invalidation.listener
        assert listener is None or listener.wait_until(True)
        workers.append(Worker(app, api))
    return workers


def scene(workers: list[Worker]) -> Scene:
    app = workers[0].app
    with Session(runtime(app).engine, expire_on_commit=False) as s:
        world = (
            world_of(app, s)
            .employer(EMPLOYER, "株式会社 山田工務店", address="東京都江東区")
            .technician(TECHNICIAN, totp=True, employer=EMPLOYER)
            .client(
                SYSTEM,
                ["https://rp.example.jp/cb"],
                owner_employer=EMPLOYER,
                grant_types=["authorization_code", "refresh_token", "client_credentials"],
                with_registration_token=True,
            )
        )
        s.commit()
    made = world.clients[SYSTEM]
    rp = Client(made.client.client_id, made.client_secret)
    got = tokens(workers[0].api, app, rp, world.logins[TECHNICIAN], scope="openid offline_access")
    gid = json.loads(jws.extract_compact(got["access_token"].encode()).payload)["gid"]
    assert made.registration_access_token is not None
    return Scene(rp, made.registration_access_token, got["access_token"], got["refresh_token"], gid)


def userinfo(worker: Worker, token: str) -> int:
    return worker.api.get("/userinfo", headers={"Authorization": f"Bearer {token}"}).status_code


def client_token(worker: Worker, rp: Client, secret: str | None = None) -> int:
    form = {"grant_type": "client_credentials"}
    return worker.api.post("/token", data=form, auth=(rp.client_id, secret or rp.client_secret or "")).status_code


def refresh(worker: Worker, rp: Client, token: str) -> int:
    form = {"grant_type": "refresh_token", "refresh_token": token}
    return worker.api.post("/token", data=form, auth=(rp.client_id, rp.client_secret or "")).status_code


def employer_reads_technician(worker: Worker, rp: Client) -> int:
    """The employer's system reads its technician through the data API (relationship: current employer)."""
    issued = worker.api.post("/token", data={"grant_type": "client_credentials"}, auth=(rp.client_id, rp.client_secret))
    assert issued.status_code == 200, issued.text
    bearer = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    return worker.api.get(f"/api/v1/technicians/{TECHNICIAN}", headers=bearer).status_code


def warm(workers: list[Worker], check: Any, expected: int) -> None:
    """Each worker answers twice, so the second answer comes from its caches where it has them."""
    for worker in workers:
        for _ in range(2):
            assert check(worker) == expected
