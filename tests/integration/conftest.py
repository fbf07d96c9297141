from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from tests.support.clock import FrozenClock
from tests.support.web import build_app


@pytest.fixture
def app(tmp_path: Path, db_url: str, engine: Engine, clock: FrozenClock, db: Session) -> FastAPI:
    # ``db`` is requested so the tables are emptied after the test.
    return build_app(tmp_path, db_url, engine, clock)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://localhost") as c:
        yield c
