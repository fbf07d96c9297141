"""Debian's headless Chromium for the browser tests (never a downloaded browser; a missing browser
fails the tests loudly rather than skipping them).

One Playwright and one browser per test process (xdist worker): Playwright's sync API cannot be
started twice in one process while the first is running, so every browser test — tests/e2e and the
security tests that drive a page — shares the session fixtures of tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, expect

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Generous, because the tests may share the machine with other workers; nothing waits this long
#: when all is well (Playwright's waits return as soon as the condition holds).
WAIT_MS = 20_000


def launched_chromium(playwright: Playwright) -> Iterator[Browser]:
    """Launch Debian's Chromium headless; close it afterwards."""
    if not CHROMIUM.exists():
        pytest.fail(f"the browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)")
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
    expect.set_options(timeout=WAIT_MS)
    try:
        yield browser
    finally:
        browser.close()
