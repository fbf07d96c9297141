"""The revoking ``genba admin`` commands refuse what they cannot revoke with one line and exit status 2,
storing nothing (issue 2 item 8, the CLI's failures; issue 14, the commands themselves)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from app.cli import cli
from consent.models import ConsentRecord
from idp.models import RevokedToken
from tests.conftest import TEST_SECRET


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, db: Session) -> None:
    monkeypatch.setenv("GENBA_DATABASE_URL", db_url)
    monkeypatch.setenv("GENBA_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("GENBA_ENVIRONMENT", "test")
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["disable-client", "nosuch"], "client_id: is not a registered client"),
        (["rotate-client-secret", "nosuch"], "client_id: is not a registered client"),
        (["revoke-grant", "nosuch"], "grant_id: is not a grant of this provider"),
        (["revoke-token", "not-a-jwt"], "token: is not a JWT access token"),
        (["end-affiliation", "--technician-id", "10000000000019", "--end", "2026-11-26"], "technician_id:"),
    ],
)
def test_what_cannot_be_revoked_is_one_line_and_exit_2(args: list[str], expected: str, db: Session) -> None:
    """Issue 2 item 8: one line on stderr naming the field, exit status 2, nothing stored."""
    result = CliRunner().invoke(cli, ["admin", *args])
    assert result.exit_code == 2, result.stdout
    assert result.stderr.startswith(f"error: {expected}") and result.stderr.count("\n") == 1
    assert db.exec(select(RevokedToken)).all() == []


def test_withdraw_consent_refuses_an_unknown_id_or_operator_with_one_line_and_exit_2(db: Session) -> None:
    """Issue 2 item 8 and docs/operations.md "Revoking": ``genba admin withdraw-consent`` names the field
    at fault in one line with exit status 2 — an unknown consent id, a login that is not an operator's,
    a side that is neither the technician nor the employer — and records nothing."""
    made = CliRunner().invoke(cli, ["admin", "create-operator", "--login", "ops", "--display-name", "運営 太郎"])
    assert made.exit_code == 0, made.stderr
    withdraw = ["admin", "withdraw-consent", "nosuch", "--reference", "申請書 1"]
    cases = [
        (["--on-request-of", "technician", "--operator", "ops"], "consent_id: no such consent request"),
        (["--on-request-of", "technician", "--operator", "nobody"], "operator: is not a registered operator"),
        (["--on-request-of", "orderer", "--operator", "ops"], "the request comes from the technician or the employer"),
    ]
    for args, expected in cases:
        result = CliRunner().invoke(cli, [*withdraw, *args])
        assert result.exit_code == 2, result.stdout
        assert result.stderr.startswith(f"error: {expected}") and result.stderr.count("\n") == 1, result.stderr
    assert db.exec(select(ConsentRecord)).all() == []
