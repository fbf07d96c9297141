"""Fixtures for the real-browser tests: one live server per test session (per xdist worker; the
headless Chromium is tests/conftest.py's, shared with every browser test), a fresh browser context
per test, and technicians created through the CLI.

The browser is Debian's Chromium (``/usr/bin/chromium``), never a downloaded one; a missing
browser fails the tests loudly rather than skipping them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.support.browser import WAIT_MS
from tests.support.server import LiveServer, start_server, stop_server


@dataclass(frozen=True)
class Technician:
    technician_id: str  # 技能者ID, also the username
    name: str
    password: str
    totp_secret: str


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("live-server"))
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    ctx.set_default_timeout(WAIT_MS)
    ctx.set_default_navigation_timeout(WAIT_MS)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


_technician_ids = itertools.count(1)


@pytest.fixture
def make_technician(live_server: LiveServer) -> Callable[..., Technician]:
    """Create a technician with TOTP through ``genba admin create-technician --with-totp --json``.

    Each call gets its own 14-digit 技能者ID, so no two tests share an account (a TOTP code is
    accepted once per 30-second step per account).
    """

    def create(*, name: str, kana: str, **options: Any) -> Technician:
        technician_id = f"{30000000000000 + next(_technician_ids):014d}"
        data = live_server.create_technician(technician_id=technician_id, name=name, kana=kana, **options)
        assert data["username"] == technician_id and data["name"] == name, data
        return Technician(technician_id, name, data["password"], data["totp_secret"])

    return create


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the server's log to a failed browser test's report."""
    report: pytest.TestReport = yield
    server = getattr(item, "funcargs", {}).get("live_server")
    if report.failed and isinstance(server, LiveServer):
        report.sections.append(("live server log (tail)", server.log_tail()))
    return report
