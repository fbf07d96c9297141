"""Issue 16, storage and computation: entries and exits handed over by the gate (online and offline)
are kept one row each and the technician's month with his employer is refreshed as they arrive; a
month recomputed from the stored events is the same (docs/domain.md "Working time, overtime and 建退共
days")."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from idp.public import FieldProblem
from register.attendance.models import AttendanceEvent, AttendanceMonth
from register.attendance.settings import set_employer_settings, set_site_rule
from register.attendance.store import recompute_month
from tests.integration.register.attendance_world import EMPLOYER, NOW, SITE, TECHNICIAN, at, build, hand, november
from tests.support.clock import FrozenClock

NOVEMBER = date(2026, 11, 1)


def _month(app: FastAPI) -> AttendanceMonth:
    with Session(app.state.idp.engine) as s:
        rows = s.exec(select(AttendanceMonth).where(col(AttendanceMonth.month) == NOVEMBER)).all()
        assert len(rows) == 1
        return rows[0]


def test_events_from_online_and_offline_checks_refresh_the_month_as_they_arrive(
    app: FastAPI, client: TestClient, clock: FrozenClock
) -> None:
    """Issue 16 "aggregation incremental as events arrive (online and offline upload)": each event is its
    own row with its source; the month's summary follows each one (worked time by 第34条's break, 第32条
    overtime, and 建退共 days only for days without a flag)."""
    clock.now = NOW
    build(app)
    assert hand(app, "2026-11-26-in", "in", at(date(2026, 11, 26), 8), "online")
    first = _month(app)
    assert (first.kentaikyo_days, first.flagged_days) == (0, 1)  # an entry without its exit yet: set apart
    november(app)
    month = _month(app)
    assert (month.technician_id, month.employer_id) == (TECHNICIAN, EMPLOYER)
    # 24th: 10 h on site - 60 min break = 540 (60 over 8 h); 25th: 9 h - 60 = 480; 26th: no exit
    assert (month.worked_minutes, month.overtime_minutes, month.flagged_days) == (1020, 60, 1)
    assert month.detail["kentaikyo_days"] == ["2026-11-24", "2026-11-25"]
    assert [a["date"] for a in month.detail["kentaikyo_set_apart"]] == ["2026-11-26"]
    with Session(app.state.idp.engine) as s:
        sources = {e.event_key: e.source for e in s.exec(select(AttendanceEvent)).all()}
    assert sources["2026-11-25-in"] == "offline" and sources["2026-11-24-in"] == "online"
    assert len(sources) == 5


def test_a_retried_event_is_kept_once_and_a_recomputed_month_is_the_same(
    app: FastAPI, client: TestClient, clock: FrozenClock
) -> None:
    """Issue 16 "a month can be recomputed": recompute_month from the stored events gives the row the
    incremental path left; the same event handed twice (an upload retried) is one row."""
    clock.now = NOW
    build(app)
    november(app)
    assert hand(app, "2026-11-25-out", "out", NOW, "offline")  # the register accepts it: already kept
    before = _month(app)
    assert (before.worked_minutes, before.overtime_minutes, before.kentaikyo_days) == (1020, 60, 2)
    with Session(app.state.idp.engine) as s:
        assert len(s.exec(select(AttendanceEvent)).all()) == 5
        s.delete(s.exec(select(AttendanceMonth)).one())
        s.commit()
        recompute_month(s, TECHNICIAN, EMPLOYER, NOVEMBER, now=NOW)
        s.commit()
    after = _month(app)
    assert (after.worked_minutes, after.overtime_minutes, after.kentaikyo_days, after.flagged_days) == (
        1020,
        60,
        2,
        1,
    )
    assert after.detail == before.detail


def test_changed_settings_recompute_the_months_they_touch(app: FastAPI, client: TestClient, clock: FrozenClock) -> None:
    """Issue 16 "overtime limits with employer settings and warnings (default 80 %)": the prime's break
    and the employer's statutory hours and warning fraction are stored, checked by the rules and applied
    at once to the stored months; a warning names its clause (労働基準法第36条第4項)."""
    clock.now = NOW
    build(app)
    november(app)
    with Session(app.state.idp.engine) as s:
        set_site_rule(s, site_id=SITE, opened_on=date(2026, 10, 1), break_minutes=90, updated_by="prime", now=NOW)
        s.commit()
    assert _month(app).worked_minutes == (600 - 90) + (540 - 90)
    with Session(app.state.idp.engine) as s:
        set_employer_settings(s, employer_id=EMPLOYER, daily_statutory_minutes=60, warning_fraction=0.3, now=NOW)
        s.commit()
    month = _month(app)
    assert month.overtime_minutes == 960 - 2 * 60
    (finding,) = month.detail["findings"]
    assert (finding["limit"], finding["severity"], finding["clause"]) == (
        "month_45h",
        "warning",
        "労働基準法第36条第4項",
    )
    with Session(app.state.idp.engine) as s, pytest.raises(FieldProblem):
        set_employer_settings(s, employer_id=EMPLOYER, warning_fraction=1.5, now=NOW)
    with Session(app.state.idp.engine) as s, pytest.raises(FieldProblem):
        set_site_rule(s, site_id=SITE, opened_on=date(2026, 10, 1), break_minutes=500, updated_by="prime", now=NOW)
