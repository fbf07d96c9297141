"""The conformance tests drive the provider through the ASGI app on every backend, like the integration tests.

The relying party is the technicians' employer's own system (``tests.support.oidc.OWN_EMPLOYER``): the
standard claims of a technician leave only through the consent engine (issue 12 hole 2), and the
relationship rules let an employer's own system read its technicians' claims.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.integration.conftest import app, client  # noqa: F401
from tests.support.oidc import Client, employ, own_client, register_client
from tests.support.web import Person, make_technician


@pytest.fixture
def rp(app: FastAPI) -> Client:  # noqa: F811
    """A confidential relying party (client_secret_basic) registered for https://rp.example.jp/cb: the
    attendance system of the employer the ``technician`` works for."""
    return own_client(app, register_client(app))


@pytest.fixture
def technician(app: FastAPI) -> Person:  # noqa: F811
    """A technician with password and TOTP, employed by the company that owns ``rp``."""
    person = make_technician(app)
    employ(app, "10000000000019")
    return person
