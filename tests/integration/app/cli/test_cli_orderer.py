"""The operator's commands for orderers (発注者) and their systems (issue 12, item 11; docs/domain.md rule 5):
``create-orderer``, ``create-site --orderer-code``, ``create-client --owner-orderer-id``,
``end-assignment``, ``close-site``; one-line errors with exit code 2 and nothing half-created.
On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session, select

from idp.models import OAuthClient
from register.models import Orderer, Site, SiteAssignment
from tests.conftest import TEST_SECRET
from tests.integration.app.cli.test_cli import EMPLOYER, TECHNICIAN, run

ORDERER = ["admin", "create-orderer", "--code", "KTR-2026", "--name", "国土交通省 関東地方整備局"]
SITE = [
    "admin",
    "create-site",
    "--site-id",
    "KTR-SITE-1",
    "--name",
    "荒川堤防改良工事",
    "--prime-employer-id",
    "31000000000018",
    "--starts-on",
    "2020-04-01",
    "--orderer-code",
    "KTR-2026",
]
ON_SITE = ["--site-id", "KTR-SITE-1", "--technician-id", "10000000000019"]
CLIENT = ["admin", "create-client", "--name", "週休2日管理システム", "--grant-type", "client_credentials", "--json"]


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, db: Session) -> None:
    monkeypatch.setenv("GENBA_DATABASE_URL", db_url)
    monkeypatch.setenv("GENBA_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("GENBA_ENVIRONMENT", "test")
    monkeypatch.chdir(tmp_path)


def _ok(args: list[str]) -> dict[str, object]:
    code, out, err = run([*args, "--json"] if "--json" not in args else args)
    assert code == 0, err
    data: dict[str, object] = json.loads(out)
    return data


def _one_line_error(args: list[str], starts: str) -> None:
    code, out, err = run(args)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {starts}"), err
    assert "Traceback" not in err + out


@pytest.fixture
def registered(db: Session) -> None:
    for args in (EMPLOYER, TECHNICIAN, ORDERER, SITE):
        _ok(args)


def test_an_orderer_system_is_registered_for_the_orderer(registered: None, db: Session) -> None:
    """``create-client --owner-orderer-id`` makes a system that acts for the orderer (rule 5)."""
    created = _ok([*CLIENT, "--owner-orderer-id", "KTR-2026"])
    assert created["acts_for"] == "orderer:KTR-2026"
    row = db.get(OAuthClient, str(created["client_id"]))
    orderer = db.exec(select(Orderer)).one()
    assert row is not None and row.owner_orderer_pk == orderer.id and row.owner_employer_pk is None
    assert _ok([*CLIENT, "--owner-employer-id", "31000000000018"])["acts_for"] == "company:31000000000018"
    assert _ok(CLIENT)["acts_for"] is None


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (["--owner-orderer-id", "KTR-2026", "--owner-employer-id", "31000000000018"], "owner:"),
        (["--owner-orderer-id", "NO-SUCH"], "owner_orderer_id:"),
        (["--owner-employer-id", "39999999999999"], "owner_employer_id:"),
    ],
)
def test_a_system_with_a_bad_owner_is_not_registered(
    registered: None, db: Session, extra: list[str], field: str
) -> None:
    """One owner, and a registered one: otherwise one line, exit 2, and no client stored."""
    _one_line_error([*CLIENT, *extra], field)
    assert db.exec(select(OAuthClient)).all() == []


def test_a_wallet_app_belongs_to_no_orderer(registered: None, db: Session) -> None:
    """A holder's wallet acts for its holder only (issue 12, hole 3): not for an orderer either."""
    wallet = ["admin", "create-client", "--name", "ウォレット", "--wallet", "--redirect-uri", "https://w.example/cb"]
    _one_line_error([*wallet, "--owner-orderer-id", "KTR-2026"], "--wallet:")
    assert db.exec(select(OAuthClient)).all() == []


def test_end_assignment_and_close_site(registered: None, db: Session) -> None:
    """The operator ends a technician's assignment (his last day) and closes a finished site; closing
    again keeps the first closing time; bad input is one line with exit 2 and changes nothing."""
    _ok(["admin", "assign", *ON_SITE, "--employer-id", "31000000000018", "--start", "2020-04-01"])
    _one_line_error(["admin", "end-assignment", *ON_SITE, "--end", "2019-01-01"], "end:")
    _one_line_error(["admin", "end-assignment", *ON_SITE, "--end", "2026-13-01"], "end:")
    assert db.exec(select(SiteAssignment)).one().end_date is None
    assert _ok(["admin", "end-assignment", *ON_SITE, "--end", "2026-11-30"])["end"] == "2026-11-30"
    db.expire_all()
    assert str(db.exec(select(SiteAssignment)).one().end_date) == "2026-11-30"
    first = _ok(["admin", "close-site", "--site-id", "KTR-SITE-1"])["closed_at"]
    assert _ok(["admin", "close-site", "--site-id", "KTR-SITE-1"])["closed_at"] == first
    _one_line_error(["admin", "close-site", "--site-id", "NO-SUCH"], "site_id:")
    db.expire_all()
    assert db.exec(select(Site)).one().closed_at is not None
