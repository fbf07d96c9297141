"""The employer's grant form starts the grant on Japan's calendar date (common.japan_time.local_date), as
the data API does. It used the UTC date, so from 00:00 to 09:00 JST — when Japan's date is already the
next day — every grant was refused as "期間が過去か、終了日が開始日より前です" (the period starts in
the past). Found by the access-control matrix, which began failing at 00:00 JST (docs/domain.md rule 1: the
employer's side of two-party consent must be usable)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient

from common.japan_time import local_date
from tests.integration.register.test_consent_oauth_flow import _world
from tests.support.web import csrf_of, runtime, sign_in


def test_a_grant_made_at_half_past_midnight_in_japan_starts_today(app: FastAPI, client: TestClient) -> None:
    rt = runtime(app)
    rt.clock.now = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)  # 2026-11-28 00:30 JST
    (person, staff), rp = _world(app)
    sign_in(client, app, staff)
    page = client.get("/consent/employer")
    today = local_date(rt.clock())
    assert today.isoformat() == "2026-11-28"
    answer = client.post(
        "/consent/employer/grant",
        data={
            "csrf_token": csrf_of(page.text),
            "client_id": rp.client_id,
            "group_identity": "1",
            f"tech_{person.username}": "1",
            "purpose": "入退場管理",
            "period_end": (today + timedelta(days=30)).isoformat(),
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[-400:]
    assert answer.headers["location"] == "/consent/employer?notice=consent.done_grant"
