"""The ``genba`` CLI: --json output, one-line errors with exit code 2, nothing half-created (issue 2, item 8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from app.cli import cli
from idp.models import Account, Affiliation, AuditEvent, Employer, Technician
from tests.conftest import TEST_SECRET

runner = CliRunner()
EMPLOYER = [
    "admin",
    "create-employer",
    "--employer-id",
    "31000000000018",
    "--trade-name",
    "株式会社 山田工務店",
    "--address",
    "東京都江東区新砂1-2-3",
    "--phone",
    "03-1234-5678",
]
TECHNICIAN = [
    "admin",
    "create-technician",
    "--technician-id",
    "10000000000019",
    "--name",
    "鈴木 一郎",
    "--kana",
    "スズキ イチロウ",
    "--birth-date",
    "1985-04-12",
    "--gender",
    "male",
    "--address",
    "東京都江東区東陽4-5-6",
    "--phone",
    "090-1234-5678",
]


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, db: Session) -> None:
    monkeypatch.setenv("GENBA_DATABASE_URL", db_url)
    monkeypatch.setenv("GENBA_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("GENBA_ENVIRONMENT", "test")
    monkeypatch.chdir(tmp_path)


def run(args: list[str]) -> tuple[int, str, str]:
    result = runner.invoke(cli, args)
    return result.exit_code, result.stdout, result.stderr


def test_create_employer_technician_staff_and_link_with_json(db: Session) -> None:
    code, out, _ = run([*EMPLOYER, "--json"])
    assert code == 0 and json.loads(out)["employer_id"] == "31000000000018"
    code, out, err = run([*TECHNICIAN, "--with-totp", "--json"])
    assert code == 0, err
    created = json.loads(out)
    assert created["username"] == "10000000000019" and len(created["password"]) >= 12
    assert len(created["totp_secret"]) == 32  # 160-bit base32 secret, printed once
    code, out, err = run(
        [
            "admin",
            "create-staff",
            "--employer-id",
            "31000000000018",
            "--login",
            "hanako",
            "--display-name",
            "山田 花子",
            "--role",
            "admin",
            "--json",
        ]
    )
    assert code == 0 and json.loads(out)["username"] == "31000000000018-hanako", err
    code, out, err = run(
        [
            "admin",
            "link-affiliation",
            "--technician-id",
            "10000000000019",
            "--employer-id",
            "31000000000018",
            "--start",
            "2019-04-01",
            "--json",
        ]
    )
    assert code == 0 and json.loads(out)["start_date"] == "2019-04-01", err
    assert len(db.exec(select(Affiliation)).all()) == 1
    assert {e.event for e in db.exec(select(AuditEvent)).all()} == {"account.created"}


@pytest.mark.parametrize(
    ("override", "field"),
    [
        (["--technician-id", "12345"], "technician_id"),
        (["--technician-id", "1000000000001X"], "technician_id"),
        (["--phone", "not a phone"], "phone"),  # checked after the ID: the account must not be half-created
        (["--birth-date", "1985-13-40"], "birth_date"),
        (["--birth-date", "2999-01-01"], "birth_date"),
        (["--name", "鈴木\x07一郎"], "name"),
    ],
)
def test_bad_technician_input_is_one_line_exit_2_and_nothing_stored(
    db: Session, override: list[str], field: str
) -> None:
    args = list(TECHNICIAN)
    for i in range(0, len(override), 2):
        args[args.index(override[i]) + 1] = override[i + 1]
    code, out, err = run(args)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}:"), err
    assert "Traceback" not in err + out
    assert db.exec(select(Account)).all() == [] and db.exec(select(Technician)).all() == []


def test_duplicate_employer_is_refused(db: Session) -> None:
    assert run(EMPLOYER)[0] == 0
    code, _, err = run(EMPLOYER)
    assert code == 2 and "already registered" in err
    assert len(db.exec(select(Employer)).all()) == 1


def test_missing_face_photo_file_is_a_clear_error(db: Session) -> None:
    code, _, err = run([*TECHNICIAN, "--face-photo", "/nonexistent/photo.jpg"])
    assert code == 2 and err.startswith("error: face_photo:")
    assert db.exec(select(Account)).all() == []


def test_db_upgrade_is_idempotent(db_url: str) -> None:
    for _ in range(2):
        code, out, _ = run(["db", "upgrade"])
        assert code == 0 and "revision" in out
