"""Fixtures of the credential issuer tests: the app on both backends (``app``/``client`` from
tests/integration/conftest.py, FrozenClock injected), a technician with an employer, a record and
two imported certificates, and a step-by-step OpenID4VCI wallet over the ASGI TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from tests.support.backends import delete_all
from tests.support.clock import FrozenClock
from tests.support.wallet import SeededCertificate, Wallet, epoch, runtime, seed_technician_data
from tests.support.web import make_technician
from wallet.runtime import WalletRuntime

TECHNICIAN_ID = "10000000000019"


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """As tests/conftest.py's ``db``, emptied with DELETE (see ``delete_all``): a tenth of the time."""
    with Session(engine, expire_on_commit=False) as session:
        yield session
    delete_all(engine)


@dataclass(frozen=True)
class Seeded:
    technician_id: str
    certificates: list[SeededCertificate]


@pytest.fixture
def seeded(app: FastAPI) -> Seeded:
    make_technician(app, technician_id=TECHNICIAN_ID, with_totp=False)
    return Seeded(TECHNICIAN_ID, seed_technician_data(app, technician_id=TECHNICIAN_ID))


@pytest.fixture
def issuer(app: FastAPI) -> WalletRuntime:
    return runtime(app)


@pytest.fixture
def wallet(client: TestClient, issuer: WalletRuntime, clock: FrozenClock) -> Wallet:
    return Wallet(client, issuer.config.issuer, epoch(clock()))
