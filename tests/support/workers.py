"""Two workers on one database, as ``genba serve --workers 2`` runs them, for the worker cache tests
(issue 14, "Caches that are never wrong for long"): two applications, each with its own engine, caches
and (PostgreSQL) listener; the scene they serve (an employer's system, its technician, tokens, the
employer's administrator); a two-party consent; and the employer page's revoking actions."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
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
from tests.support.oidc import Client, authorize_url, exchange, follow_to_client, pkce, tokens
from tests.support.web import build_app, csrf_of, runtime, sign_in
from tests.support.world import Login, world_of

EMPLOYER = "31000000000018"
TECHNICIAN = "10000000000019"
SYSTEM = "勤怠管理システム"
VENDOR = "42000000000017"
ADMIN = f"{EMPLOYER}-admin"
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
    registration access token), a technician of the employer signed in to it, their tokens, and the
    employer's administrator (who signs in to the employer page)."""

    rp: Client
    registration_token: str
    access_token: str
    refresh_token: str
    gid: str
    admin: Login


@dataclass
class Consented:
    """A vendor's system holding the technician's token under a two-party consent (docs/domain.md
    rule 1) that the technician and the employer's administrator approved."""

    rp: Client
    bearer: dict[str, str]
    consent_id: str
    admin: Login


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
            .staff(EMPLOYER, "admin", "山田 花子", role="admin")
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
    admin = world.logins[ADMIN]
    return Scene(rp, made.registration_access_token, got["access_token"], got["refresh_token"], gid, admin)


def consented(workers: list[Worker], clock: FrozenClock) -> Consented:
    """The technician authorizes a vendor's system with RAR details (RFC 9396) on the first worker and
    the employer's administrator approves the consent on the employer's inbox page."""
    app, browser = workers[0].app, workers[0].api
    with Session(runtime(app).engine, expire_on_commit=False) as s:
        world = (
            world_of(app, s)
            .employer(EMPLOYER, "株式会社 山田工務店", address="東京都江東区")
            .employer(VENDOR, "勤怠ソフト株式会社", address="大阪府", phone="06-1234-5678")
            .technician(TECHNICIAN, totp=True, employer=EMPLOYER)
            .staff(EMPLOYER, "admin", "山田 花子", role="admin")
            .client(SYSTEM, ["https://rp.example.jp/cb"], owner_employer=VENDOR)
        )
        s.commit()
    rp = Client(world.clients[SYSTEM].client.client_id, world.clients[SYSTEM].client_secret)
    wanted = {"groups": ["qualifications"], "purpose": "資格確認", "period_end": "2027-03-31"}
    details = [{"type": "genba_technician_data", **wanted}]
    sign_in(browser, app, world.logins[TECHNICIAN])
    verifier, challenge = pkce()
    asked = {"code_challenge": challenge, "code_challenge_method": "S256"}
    link = authorize_url(rp, authorization_details=json.dumps(details, ensure_ascii=False), **asked)
    result = follow_to_client(browser, link)
    assert "code" in result, result
    granted = exchange(browser, rp, result["code"], verifier).json()
    consent_id = granted["authorization_details"][0]["consent_id"]
    clock.advance(seconds=30)  # the administrator's TOTP code is of the next time step
    admin = world.logins[ADMIN]
    with employer_page(workers[0], admin) as employer:
        inbox = employer.get("/consent/employer")
        form = {"csrf_token": csrf_of(inbox.text), "decision": "approve", f"id_{consent_id}": "1"}
        assert employer.post("/consent/employer/bulk", data=form).status_code == 200
    return Consented(rp, {"Authorization": f"Bearer {granted['access_token']}"}, consent_id, admin)


@contextmanager
def employer_page(worker: Worker, admin: Login) -> Iterator[TestClient]:
    """A browser of the employer's administrator, signed in on ``worker``."""
    with TestClient(worker.app, base_url="http://localhost") as browser:
        sign_in(browser, worker.app, admin)
        yield browser


def _confirmed(browser: TestClient, action: str, form: dict[str, str]) -> Any:
    """Send the employer page's form, then confirm on the page it answers with."""
    page = browser.get("/employer/technicians")
    asked = browser.post(action, data={"csrf_token": csrf_of(page.text), **form}, follow_redirects=False)
    assert asked.status_code == 200 and 'name="confirm" value="yes"' in asked.text, asked.text
    form = {"csrf_token": csrf_of(asked.text), **form, "confirm": "yes"}
    return browser.post(action, data=form, follow_redirects=False)


def rotate_on_page(browser: TestClient, client_id: str) -> str:
    """「シークレットを再発行」 on the employer page: the new secret, shown once."""
    done = _confirmed(browser, "/employer/systems/rotate-secret", {"client_id": client_id})
    assert done.status_code == 200, done.text
    shown = re.search(r'id="client-secret">([^<]+)<', done.text)
    assert shown is not None, done.text
    return shown.group(1)


def end_on_page(browser: TestClient, technician_id: str, end_date: str) -> None:
    """「所属を終了」 on the employer page, the last day ``end_date``."""
    form = {"technician_id": technician_id, "end_date": end_date}
    done = _confirmed(browser, "/employer/technicians/end-affiliation", form)
    assert (done.status_code, done.headers.get("location")) == (303, "/employer/technicians?notice=ended"), done.text


def introspect(worker: Worker, rp: Client, token: str) -> bool:
    """RFC 7662 §2.2: whether the worker says ``token`` is active (asked by ``rp``)."""
    answer = worker.api.post("/introspect", data={"token": token}, auth=(rp.client_id, rp.client_secret or ""))
    assert answer.status_code == 200, answer.text
    return bool(answer.json()["active"])


def userinfo(worker: Worker, token: str) -> int:
    return worker.api.get("/userinfo", headers={"Authorization": f"Bearer {token}"}).status_code


def client_token(worker: Worker, rp: Client, secret: str | None = None) -> int:
    form = {"grant_type": "client_credentials"}
    return worker.api.post("/token", data=form, auth=(rp.client_id, secret or rp.client_secret or "")).status_code


def refresh(worker: Worker, rp: Client, token: str) -> int:
    form = {"grant_type": "refresh_token", "refresh_token": token}
    return worker.api.post("/token", data=form, auth=(rp.client_id, rp.client_secret or "")).status_code


def system_bearer(worker: Worker, rp: Client) -> dict[str, str]:
    """A client_credentials token of the employer's system, as an ``Authorization`` header."""
    issued = worker.api.post("/token", data={"grant_type": "client_credentials"}, auth=(rp.client_id, rp.client_secret))
    assert issued.status_code == 200, issued.text
    return {"Authorization": f"Bearer {issued.json()['access_token']}"}


def technician_record(worker: Worker, bearer: dict[str, str]) -> int:
    """The employer's system reads its technician through the data API (relationship: current employer)."""
    return worker.api.get(f"/api/v1/technicians/{TECHNICIAN}", headers=bearer).status_code


def own_record(worker: Worker, bearer: dict[str, str]) -> int:
    """A system reads the technician whose token it holds (``/api/v1/technicians/me``)."""
    return worker.api.get("/api/v1/technicians/me", headers=bearer).status_code


def warm(workers: list[Worker], check: Any, expected: int) -> None:
    """Each worker answers twice, so the second answer comes from its caches where it has them."""
    for worker in workers:
        for _ in range(2):
            assert check(worker) == expected
