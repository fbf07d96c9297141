"""``genba demo`` (the README's first command): demo data loads on a fresh database, loading it again
changes nothing, and every printed account signs in with its password and TOTP code; the gate staff
run the demo site's gate."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from app.cli import cli
from idp.models import Account
from tests.conftest import TEST_SECRET
from tests.support.clock import FrozenClock
from tests.support.web import Person, build_app, sign_in

runner = CliRunner()


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, db: Session) -> None:
    monkeypatch.setenv("GENBA_DATABASE_URL", db_url)
    monkeypatch.setenv("GENBA_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("GENBA_ENVIRONMENT", "test")
    # `genba demo` sets these in its own process (its issuer follows --port, its source is on loopback);
    # run in-process here, they are put back as they were so no later test inherits them
    for name in (
        "GENBA_ISSUER",
        "GENBA_OUTBOUND_ALLOW_PRIVATE",
        "GENBA_MYNAPORTAL_URL",
        "GENBA_MYNAPORTAL_CLIENT_SECRET",
    ):
        monkeypatch.setenv(name, "")  # recorded as unset before, so undone to unset afterwards
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _demo() -> list[dict[str, str]]:
    result = runner.invoke(cli, ["demo", "--no-serve", "--json"])
    assert result.exit_code == 0, result.stderr
    loaded: list[dict[str, str]] = json.loads(result.stdout)
    return loaded


def test_demo_loads_once_and_every_account_signs_in(
    tmp_path: Path, db_url: str, engine: Engine, clock: FrozenClock
) -> None:
    """Issue 2 (two commands set everything up; demo data idempotent) and issue 7 (a gate to try)."""
    first = _demo()
    with Session(engine) as s:
        accounts = s.exec(select(func.count()).select_from(Account)).one()
    assert _demo() == first  # same accounts, same TOTP secrets
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Account)).one() == accounts
    assert [d["username"] for d in first] == ["10000000000019", "31000000000018-admin", "31000000000034-gate"]
    clock.now = datetime.now(UTC)  # the demo data was dated by the real clock (site period, sessions)
    app = build_app(tmp_path, db_url, engine, clock)
    for demo in first:
        with Session(engine) as s:
            account = s.exec(select(Account).where(Account.username == demo["username"])).one()
        with TestClient(app, base_url="http://localhost") as browser:
            sign_in(browser, app, Person(demo["username"], demo["password"], demo["totp_secret"], account.id or 0))
            if demo["username"].endswith("-gate"):
                operator = browser.get("/gate/operator")
                assert operator.status_code == 200, operator.text
                assert "GENBA-2026-0001" in operator.text
