"""``genba db backup | restore`` on SQLite and PostgreSQL: a round trip brings every row back,
nothing is overwritten or replaced without --force, and errors are one line with exit code 2."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from app import backup, database
from app.cli import cli
from idp import accounts
from idp.models import Account, Affiliation, Employer, Technician
from idp.passwords import Passwords
from tests.conftest import TEST_SECRET
from tests.support.backends import database_url, truncate_all
from tests.support.clock import FrozenClock
from tests.support.world import World

runner = CliRunner()
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # binary data must survive byte for byte


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, db: Session) -> None:
    monkeypatch.setenv("GENBA_DATABASE_URL", db_url)
    monkeypatch.setenv("GENBA_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("GENBA_ENVIRONMENT", "test")
    monkeypatch.chdir(tmp_path)


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def populate(db: Session, passwords: Passwords, clock: FrozenClock, *, employer_id: str = "31000000000018") -> None:
    world = World(db, clock=clock, passwords=passwords).employer(employer_id, "株式会社 山田工務店")
    for n, name in enumerate(["鈴木 一郎", "佐藤 次郎"]):
        world.technician(
            f"1000000000{n:03d}9",
            name,
            birth_date=date(1985, 4, 12 + n),
            address="東京都江東区",
            password="long enough password",
            photo=PNG,
            employer=employer_id,
            since=date(2026, 4, 1),
        )
    db.commit()
    db.close()  # no transaction left open: pg_restore drops and recreates these tables


def snapshot(engine: Engine) -> dict[str, Any]:
    """What the accounts tables hold, in a comparable form (a fresh session each time)."""
    with Session(engine) as session:
        return {
            "accounts": sorted(
                (a.username, a.kind, a.password_hash, a.subject) for a in session.exec(select(Account)).all()
            ),
            "technicians": sorted(
                (t.technician_id, t.name, t.birth_date, t.face_photo) for t in session.exec(select(Technician)).all()
            ),
            "employers": sorted((e.employer_id, e.trade_name) for e in session.exec(select(Employer)).all()),
            "affiliations": sorted(
                (a.technician_pk, a.employer_pk, a.start_date) for a in session.exec(select(Affiliation)).all()
            ),
        }


def employer_ids(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.exec(select(col(Employer.employer_id))).all())


def one_line_error(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err, err


def test_round_trip_brings_every_row_back_at_the_same_revision(
    db: Session, engine: Engine, db_url: str, tmp_path: Path, passwords: Passwords, clock: FrozenClock
) -> None:
    populate(db, passwords, clock)
    before = snapshot(engine)
    assert len(before["technicians"]) == 2 and before["technicians"][0][3] == PNG
    code, out, err = run("db", "upgrade")
    assert code == 0, err
    revision_line = out.strip()
    assert revision_line == f"database at revision {database.current_revision(db_url)}"

    file = tmp_path / "genba.backup"
    code, out, err = run("db", "backup", "--out", str(file))
    assert code == 0, err
    assert str(file) in out and file.stat().st_size > 0
    assert file.stat().st_mode & 0o777 == 0o600  # personal data and encrypted secrets: owner only
    assert not list(tmp_path.glob("*.partial"))

    truncate_all(engine)
    assert snapshot(engine) == {"accounts": [], "technicians": [], "employers": [], "affiliations": []}

    code, out, err = run("db", "restore", "--in", str(file))
    assert code == 0, err
    assert "restored" in out
    assert snapshot(engine) == before
    code, out, err = run("db", "upgrade")
    assert code == 0, err
    assert out.strip() == revision_line


def test_restore_into_a_new_migrated_database(
    db: Session,
    engine: Engine,
    db_url: str,
    tmp_path: Path,
    passwords: Passwords,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The recovery drill: create a database, ``genba db upgrade``, ``genba db restore`` (no --force)."""
    populate(db, passwords, clock)
    before = snapshot(engine)
    file = tmp_path / "drill.backup"
    assert run("db", "backup", "--out", str(file))[0] == 0
    with database_url(make_url(db_url).get_backend_name(), tmp_path / "drill") as fresh_url:
        assert backup.tables_with_rows(fresh_url) == []  # what migrations seed is not data
        monkeypatch.setenv("GENBA_DATABASE_URL", fresh_url)
        code, _, err = run("db", "restore", "--in", str(file))
        assert code == 0, err
        fresh = database.make_engine(fresh_url)
        try:
            assert snapshot(fresh) == before
        finally:
            fresh.dispose()
        code, out, err = run("db", "upgrade")
        assert code == 0, err
        assert out.strip() == f"database at revision {database.current_revision(db_url)}"


def test_restore_refuses_a_database_with_data_unless_forced(
    db: Session, engine: Engine, tmp_path: Path, passwords: Passwords, clock: FrozenClock
) -> None:
    populate(db, passwords, clock)
    file = tmp_path / "genba.backup"
    assert run("db", "backup", "--out", str(file))[0] == 0
    with Session(engine) as session:
        accounts.create_employer(
            session=session,
            employer_id="31000000000026",
            trade_name="後から",
            address="大阪",
            phone="06-1234-5678",
            now=clock(),
        )
        session.commit()
    assert employer_ids(engine) == ["31000000000018", "31000000000026"]

    code, _, err = run("db", "restore", "--in", str(file))
    one_line_error(code, err, "not empty", "--force")
    assert employer_ids(engine) == ["31000000000018", "31000000000026"]  # untouched

    code, _, err = run("db", "restore", "--in", str(file), "--force")
    assert code == 0, err
    assert employer_ids(engine) == ["31000000000018"]  # exactly the backup's contents


def test_backup_refuses_to_overwrite_unless_forced(
    db: Session, engine: Engine, tmp_path: Path, passwords: Passwords, clock: FrozenClock
) -> None:
    populate(db, passwords, clock)
    file = tmp_path / "existing.backup"
    file.write_bytes(b"keep me")
    code, _, err = run("db", "backup", "--out", str(file))
    one_line_error(code, err, "already exists", "--force")
    assert file.read_bytes() == b"keep me"

    code, _, err = run("db", "backup", "--out", str(file), "--force")
    assert code == 0, err
    assert file.read_bytes() != b"keep me"
    truncate_all(engine)
    assert run("db", "restore", "--in", str(file))[0] == 0
    assert employer_ids(engine) == ["31000000000018"]
    assert not list(tmp_path.glob("*.partial"))


def test_bad_inputs_are_one_line_errors(db: Session, db_url: str, tmp_path: Path) -> None:
    code, _, err = run("db", "restore", "--in", str(tmp_path / "missing.backup"))
    one_line_error(code, err, "missing.backup")
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("not a backup\n")
    code, _, err = run("db", "restore", "--in", str(not_a_backup))
    one_line_error(code, err, "notes.txt", "not a")
    code, _, err = run("db", "backup", "--out", str(tmp_path / "no-such-dir" / "x.backup"))
    one_line_error(code, err, "does not exist")
    code, _, err = run("db", "backup", "--out", str(tmp_path))
    one_line_error(code, err, "directory")


def test_postgresql_needs_the_client_tools_and_sqlite_does_not(
    db: Session, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    file = tmp_path / "no-tools.backup"
    code, _, err = run("db", "backup", "--out", str(file))
    if make_url(db_url).get_backend_name() == "sqlite":
        assert code == 0, err
        assert file.exists()
    else:
        one_line_error(code, err, "pg_dump not found")
        assert not file.exists() and not list(tmp_path.glob("*.partial"))
