"""Fixtures of the gate tests: the app on SQLite and PostgreSQL with a FrozenClock (from
tests/integration/conftest.py; ``db`` emptied with DELETE, from tests/integration/wallet/conftest.py),
the site and the technician's wallet (``world``), and the gate's staff signed in on their own client
(``gate``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from app import database
from tests.support.backends import database_url
from tests.support.clock import FrozenClock
from tests.support.gate_world import GATE, PRIME, SITE, GateWorld, build_world
from tests.support.web import build_app, sign_in
from wallet.gate import offline
from wallet.gate.models import GateEvent, GateRefusal


@pytest.fixture
def world(app: FastAPI, client: TestClient) -> GateWorld:
    return build_world(app, client)


@pytest.fixture
def gate(app: FastAPI, world: GateWorld, clock: FrozenClock) -> Iterator[TestClient]:
    """The gate page's browser: the prime contractor's staff, signed in (password + TOTP)."""
    with TestClient(app, base_url="http://localhost") as staff_client:
        clock.advance(seconds=31)  # a fresh TOTP step
        sign_in(staff_client, app, world.staff)
        yield staff_client


def refusals(engine: Engine) -> list[GateRefusal]:
    with Session(engine) as s:
        return list(s.exec(select(GateRefusal).order_by(GateRefusal.id)).all())  # type: ignore[arg-type]


def event_count(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(GateEvent)).one())


@dataclass
class OfflineKit:
    """A synced gate and a technician's wallet for checks that touch no database: on SQLite, one per
    test session (xdist worker), with a FrozenClock set to the real time (so a ``genba`` child process
    agrees with it)."""

    app: FastAPI
    clock: FrozenClock
    world: GateWorld
    bundle: dict[str, Any]

    @property
    def now(self) -> datetime:
        return self.clock()

    def fresh_bundle(self, at: datetime) -> dict[str, Any]:
        """The sync bundle as the server would make it at ``at`` (the clock is put back afterwards)."""
        saved = self.clock.now
        self.clock.now = at
        try:
            return offline.bundle(self.app.state.gate, SITE, GATE, employer_id=PRIME)
        finally:
            self.clock.now = saved


@pytest.fixture(scope="session")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OfflineKit]:
    tmp = tmp_path_factory.mktemp("gate-offline")
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    with database_url("sqlite", tmp) as url:
        engine = database.make_engine(url)
        try:
            app = build_app(tmp, url, engine, clock)
            with TestClient(app, base_url="http://localhost") as http:
                world = build_world(app, http, with_staff=False)
            yield OfflineKit(app, clock, world, offline.bundle(app.state.gate, SITE, GATE, employer_id=PRIME))
        finally:
            engine.dispose()
