"""``genba admin recompute-attendance`` (issue 16, "a month can be recomputed"): the operator recomputes a
month from the stored gate events, for the employer's technicians in it; a bad month is a one-line
error. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from register.attendance.models import AttendanceEvent, AttendanceMonth
from tests.conftest import TEST_SECRET
from tests.integration.app.cli.test_cli import EMPLOYER, TECHNICIAN, run

SITE = ["admin", "create-site", "--site-id", "ATT-1", "--name", "新築工事"]
SITE += ["--prime-employer-id", "31000000000018", "--starts-on", "2026-10-01"]


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, db: Session) -> None:
    monkeypatch.setenv("GENBA_DATABASE_URL", db_url)
    monkeypatch.setenv("GENBA_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("GENBA_ENVIRONMENT", "test")
    monkeypatch.chdir(tmp_path)


def test_recompute_attendance_rebuilds_the_month_from_the_stored_events(db: Session) -> None:
    """Issue 16: a month recomputed by the operator from the events (08:00–17:00 in Japan: 9 h on site,
    60 min break, 480 worked, one 建退共 day)."""
    for args in (EMPLOYER, TECHNICIAN, SITE):
        assert run(args)[0] == 0, args
    for key, kind, hour in (("a", "entry", 23), ("b", "exit", 8)):  # 2026-11-10 08:00 and 17:00 in Japan
        day = 9 if kind == "entry" else 10
        at = datetime(2026, 11, day, hour, tzinfo=UTC)
        db.add(
            AttendanceEvent(
                event_key=key,
                technician_id="10000000000019",
                employer_id="31000000000018",
                site_id="ATT-1",
                kind=kind,
                at=at,
                verified=True,
                source="offline",
                received_at=at,
            )
        )
    db.commit()
    args = ["admin", "recompute-attendance", "--employer-id", "31000000000018", "--month", "2026-11", "--json"]
    code, out, err = run(args)
    assert code == 0, err
    assert json.loads(out)["technicians"] == [
        {"technician_id": "10000000000019", "worked_minutes": 480, "kentaikyo": 1}
    ]
    row = db.exec(select(AttendanceMonth)).one()
    assert row.detail["kentaikyo_days"] == ["2026-11-10"]
    code, _, err = run(["admin", "recompute-attendance", "--employer-id", "31000000000018", "--month", "2026-13"])
    assert code == 2 and err.strip().startswith("error:")
