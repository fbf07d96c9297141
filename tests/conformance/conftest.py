"""The conformance tests drive the provider through the ASGI app on every backend, like the integration tests.

The relying party is the technicians' employer's own system (``tests.support.oidc.OWN_EMPLOYER``): the
standard claims of a technician leave only through the consent engine (issue 12 hole 2), and the
relationship rules let an employer's own system read its technicians' claims.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session

from tests.integration.conftest import client  # noqa: F401
from tests.support.attestation import TEST_PROVIDER
from tests.support.clock import FrozenClock
from tests.support.oidc import Client, employ, own_client, register_client
from tests.support.web import Person, build_app, make_technician


@pytest.fixture
def app(tmp_path: Path, db_url: str, engine: Engine, clock: FrozenClock, db: Session) -> FastAPI:
    """The application as in the integration tests, trusting one wallet provider (``TEST_PROVIDER``)
    so that every advertised client authentication method, attest_jwt_client_auth too, can be used."""
    trust = TEST_PROVIDER.trust_file(tmp_path / "wallet-providers.json")
    return build_app(tmp_path, db_url, engine, clock, wallet_providers=trust)


@pytest.fixture
def rp(app: FastAPI) -> Client:
    """A confidential relying party (client_secret_basic) registered for https://rp.example.jp/cb: the
    attendance system of the employer the ``technician`` works for."""
    return own_client(app, register_client(app))


@pytest.fixture
def technician(app: FastAPI) -> Person:
    """A technician with password and TOTP, employed by the company that owns ``rp``."""
    person = make_technician(app)
    employ(app, "10000000000019")
    return person
