"""Worker caches that are never wrong (issue 14, "Caches that are never wrong for long"; docs/operations.md
"Worker caches"), on SQLite and PostgreSQL.

Two workers on one database: two applications, each with its own engine, caches and (PostgreSQL)
listener, as ``genba serve --workers 2`` runs them; on SQLite the second stands for another process
on the same file. Both are warmed (each has answered from its caches) before a revocation is made
through a page or endpoint of the first worker, or through the ``genba`` CLI; the very next request
to every worker must be refused. Nothing sleeps: the fence returns only when every listener has
applied the change, and the tests wait for listener states on a condition.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jws
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from app import database
from app.cli import cli
from tests.conftest import TEST_SECRET
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


@pytest.fixture
def workers(tmp_path: Path, db_url: str, clock: FrozenClock, db: Session) -> Iterator[list[Worker]]:
    # ``db`` is requested so the tables are emptied after the test
    with ExitStack() as stack:
        yield start_workers(stack, tmp_path, db_url, clock)


@pytest.fixture
def genba(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> Any:
    """``genba …`` in this process, on the workers' database, with the CLI's own engine."""
    monkeypatch.setenv("GENBA_DATABASE_URL", db_url)
    monkeypatch.setenv("GENBA_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("GENBA_ENVIRONMENT", "test")
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> dict[str, Any]:
        result = CliRunner().invoke(cli, [*args, "--json"])
        assert result.exit_code == 0, result.stderr + result.stdout
        answer: dict[str, Any] = json.loads(result.stdout)
        return answer

    return run


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


def test_disable_client_through_the_registration_endpoint_or_the_cli(workers: list[Worker], genba: Any) -> None:
    """Issue 14 "refused at once": a disabled client's tokens and credentials are refused by every
    worker at the very next request, disabled by RFC 7592 §2.3 DELETE on one worker, then (another
    client) by ``genba admin disable-client``."""
    s = scene(workers)
    warm(workers, lambda w: userinfo(w, s.access_token), 200)
    warm(workers, lambda w: client_token(w, s.rp), 200)
    deleted = workers[0].api.delete(
        f"/register/{s.rp.client_id}", headers={"Authorization": f"Bearer {s.registration_token}"}
    )
    assert deleted.status_code == 204
    for worker in workers:
        assert userinfo(worker, s.access_token) == 401
        assert client_token(worker, s.rp) == 401

    app = workers[0].app
    with Session(runtime(app).engine, expire_on_commit=False) as db:
        world = world_of(app, db).client("入退場", ["https://gate.example.jp/cb"], grant_types=["client_credentials"])
        db.commit()
    other = Client(world.clients["入退場"].client.client_id, world.clients["入退場"].client_secret)
    warm(workers, lambda w: client_token(w, other), 200)
    genba("admin", "disable-client", other.client_id)
    for worker in workers:
        assert client_token(worker, other) == 401


def test_rotate_client_secret_through_the_cli(workers: list[Worker], genba: Any) -> None:
    """Issue 14 "refused at once": after ``genba admin rotate-client-secret`` the old secret is refused
    by every worker at the very next request, and the new one is accepted."""
    s = scene(workers)
    warm(workers, lambda w: client_token(w, s.rp), 200)
    new = genba("admin", "rotate-client-secret", s.rp.client_id)["client_secret"]
    for worker in workers:
        assert client_token(worker, s.rp) == 401
        assert client_token(worker, s.rp, new) == 200


@pytest.mark.parametrize("way", ["endpoint", "cli"])
def test_revoke_access_token(workers: list[Worker], genba: Any, way: str) -> None:
    """RFC 7009 §2 and issue 14: a revoked access token is refused by every worker at the very next
    request, revoked at /revoke on one worker or by ``genba admin revoke-token``."""
    s = scene(workers)
    warm(workers, lambda w: userinfo(w, s.access_token), 200)
    if way == "endpoint":
        auth = (s.rp.client_id, s.rp.client_secret or "")
        revoked = workers[0].api.post("/revoke", data={"token": s.access_token}, auth=auth)
        assert revoked.status_code == 200
    else:
        genba("admin", "revoke-token", s.access_token)
    for worker in workers:
        assert userinfo(worker, s.access_token) == 401


@pytest.mark.parametrize("way", ["endpoint", "cli"])
def test_revoke_grant(workers: list[Worker], genba: Any, way: str) -> None:
    """RFC 7009 §2 (revoking a refresh token revokes its grant) and issue 14: every access token of
    the grant is refused by every worker at the very next request, the grant revoked through /revoke
    with its refresh token on one worker or by ``genba admin revoke-grant``."""
    s = scene(workers)
    warm(workers, lambda w: userinfo(w, s.access_token), 200)
    if way == "endpoint":
        auth = (s.rp.client_id, s.rp.client_secret or "")
        revoked = workers[0].api.post("/revoke", data={"token": s.refresh_token}, auth=auth)
        assert revoked.status_code == 200
    else:
        genba("admin", "revoke-grant", s.gid)
    for worker in workers:
        assert userinfo(worker, s.access_token) == 401
    assert refresh(workers[1], s.rp, s.refresh_token) == 400


def test_end_affiliation_through_the_cli(workers: list[Worker], genba: Any, clock: FrozenClock) -> None:
    """docs/domain.md (the current employer's relationship) and issue 14: once ``genba admin
    end-affiliation`` has ended the technician's affiliation, the former employer's system is refused
    the technician's data by every worker at the very next request."""
    s = scene(workers)
    warm(workers, lambda w: employer_reads_technician(w, s.rp), 200)
    yesterday = (clock() - timedelta(days=1)).date().isoformat()
    genba("admin", "end-affiliation", "--technician-id", TECHNICIAN, "--end", yesterday)
    for worker in workers:
        assert employer_reads_technician(worker, s.rp) == 403
