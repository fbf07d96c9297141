"""Fixtures of the provider's OAuth tests, shared with tests/conformance: a confidential relying party
(``rp``) owned by the employer of the signed-in ``technician`` (``tests.support.oidc.OWN_EMPLOYER``), so
the relationship rules let it read the technician's standard claims (issue 12 hole 2)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.support.oidc import Client, employ, own_client, register_client
from tests.support.web import Person, make_technician


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
