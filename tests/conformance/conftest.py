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
from tests.integration.idp.oauth.conftest import rp, technician  # noqa: F401
from tests.support.attestation import TEST_PROVIDER
from tests.support.clock import FrozenClock
from tests.support.web import build_app


@pytest.fixture
def app(tmp_path: Path, db_url: str, engine: Engine, clock: FrozenClock, db: Session) -> FastAPI:
    """The application as in the integration tests, trusting one wallet provider (``TEST_PROVIDER``)
    so that every advertised client authentication method, attest_jwt_client_auth too, can be used."""
    trust = TEST_PROVIDER.trust_file(tmp_path / "wallet-providers.json")
    return build_app(tmp_path, db_url, engine, clock, wallet_providers=trust)
