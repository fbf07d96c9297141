from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright
from sqlalchemy import Engine
from sqlmodel import Session

from app import database
from app.settings import Settings
from idp.passwords import Passwords
from idp.runtime import SystemRandomness
from tests.support.backends import database_url, truncate_all
from tests.support.browser import launched_chromium
from tests.support.clock import FrozenClock

BACKENDS = ["sqlite", "postgresql"]
TEST_SECRET = "test-secret-key-0123456789-abcdefghijklmnop"


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with database_url(request.param, tmp_path_factory.mktemp(request.param)) as url:
        yield url


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    eng = database.make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
    truncate_all(engine)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture(scope="session")
def passwords() -> Passwords:
    return Passwords(memory_kib=19 * 1024, time_cost=2, parallelism=1)


@pytest.fixture
def rng() -> SystemRandomness:
    return SystemRandomness()


def make_settings(tmp: Path, db_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "database_url": db_url,
        "issuer": "http://localhost",
        "secret_key": TEST_SECRET,
        "secret_file": tmp / "secret.key",
        "logout_retry_seconds": 0,  # tests drive deliveries themselves with the frozen clock
        "purge_interval_seconds": 0,  # ... and purges (app/housekeeping.py)
        "anonymous_requests_per_minute": 0,  # one address ("testclient") for every caller of a test
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    """One Playwright per test process (its sync API cannot run twice at once in one process)."""
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    """Debian's headless Chromium, shared by every browser test of this process (tests/support/browser.py)."""
    yield from launched_chromium(playwright_instance)
