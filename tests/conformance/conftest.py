"""The conformance tests drive the provider through the ASGI app on every backend, like the integration tests."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.integration.conftest import app, client  # noqa: F401
from tests.support.oidc import Client, register_client
from tests.support.web import Person, make_technician


@pytest.fixture
def rp(app: FastAPI) -> Client:  # noqa: F811
    """A confidential relying party (client_secret_basic) registered for https://rp.example.jp/cb."""
    return register_client(app)


@pytest.fixture
def technician(app: FastAPI) -> Person:  # noqa: F811
    """A technician with password and TOTP."""
    return make_technician(app)
