"""Issue 16, the data API and the employer's CSV: ``GET /api/v1/attendance/technicians/{id}/months/{yyyy-mm}``
is decided by the consent engine on the field group ``attendance`` (the employer's own system by the
relationship rule; a third party only with both approvals) and every answer is a disclosure record; the
建退共 CSV is the employer's, in Japanese with a byte-order mark (docs/domain.md "Working time, overtime
and 建退共 days")."""

from __future__ import annotations

import csv
import io

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from consent.ports import Party
from tests.integration.register.attendance_world import EMPLOYER, NOW, TECHNICIAN, build, november
from tests.support.clock import FrozenClock
from tests.support.web import sign_in
from tests.support.world import world_of

URL = f"/api/v1/attendance/technicians/{TECHNICIAN}/months/2026-11"


def _token(client: TestClient, credentials: tuple[str, str]) -> dict[str, str]:
    answer = client.post("/token", data={"grant_type": "client_credentials"}, auth=credentials)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _records(app: FastAPI) -> list[dict[str, object]]:
    return [
        r
        for r in app.state.consent.records_for_technician(TECHNICIAN)
        if r["kind"] == "disclosure" and r["actor"] == "api:attendance"
    ]


def test_the_month_goes_to_the_employers_system_and_to_a_third_party_only_with_both_approvals(
    app: FastAPI, client: TestClient, clock: FrozenClock
) -> None:
    """Rule 1 (nothing without both approvals), the current employer's relationship rule, rule 6 (each
    answer recorded): 200 for the employer's system, 403 for a third party, 200 once the technician and
    the employer approved its request for ``attendance``."""
    clock.now = NOW
    clients = build(app)
    november(app)
    own = client.get(URL, headers=_token(client, clients["kentai-own"]))
    assert own.status_code == 200, own.text
    (month,) = own.json()["employers"]
    assert month["employer_id"] == EMPLOYER
    assert (month["worked_minutes"], month["overtime_minutes"]) == (1020, 60)
    assert month["kentaikyo"]["days"] == ["2026-11-24", "2026-11-25"]
    assert [d["date"] for d in month["days"]] == ["2026-11-24", "2026-11-25", "2026-11-26"]
    assert len(_records(app)) == 1

    third = _token(client, clients["kentai-third"])
    refused = client.get(URL, headers=third)
    assert refused.status_code == 403
    assert "attendance" in refused.json()["missing"]
    assert len(_records(app)) == 1  # nothing left, nothing recorded

    asked = client.post(
        "/api/v1/consent-requests",
        headers=third,
        json={
            "technician_ids": [TECHNICIAN],
            "groups": ["attendance"],
            "purpose": "建退共報告",
            "period_end": "2027-03-31",
        },
    )
    assert asked.status_code == 201, asked.text
    consent_id = asked.json()["requests"][0]["id"]
    app.state.consent.approve(consent_id, Party("technician", TECHNICIAN), now=NOW)
    assert client.get(URL, headers=third).status_code == 403  # the technician alone is not enough
    app.state.consent.approve(consent_id, Party("company", EMPLOYER, role="admin"), now=NOW)
    allowed = client.get(URL, headers=third)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["employers"][0]["kentaikyo"]["day_count"] == 2
    records = _records(app)
    assert len(records) == 2
    assert records[1]["consent_ids"] == [consent_id] and "attendance_days" in records[1]["items"]  # type: ignore[operator]


def test_the_kentaikyo_csv_is_the_signed_in_employers_in_japanese_with_a_bom(
    app: FastAPI, client: TestClient, clock: FrozenClock
) -> None:
    """Issue 16 "建退共 days ... exported as CSV for the employer": Japanese headers, UTF-8 with BOM, one
    row per technician with the counted dates; the month is chosen by ``month``."""
    clock.now = NOW
    build(app)
    november(app)
    with Session(app.state.idp.engine, expire_on_commit=False) as s:
        world = world_of(app, s)
        staff = world.staff(EMPLOYER, "jimu", "事務 花子").logins[f"{EMPLOYER}-jimu"]
        s.commit()
    clock.advance(seconds=31)
    sign_in(client, app, staff)
    answer = client.get("/employer/kentaikyo.csv?month=2026-11")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [(r["技能者ID"], r["建退共就労日数"], r["就労日"]) for r in rows] == [
        (TECHNICIAN, "2", "2026-11-24・2026-11-25")
    ]
    assert "2026-11-26" in rows[0]["対象外の日と理由"]
    # by default the month before (2026-12-01 in Japan: November)
    assert client.get("/employer/kentaikyo.csv").content == answer.content
    october = client.get("/employer/kentaikyo.csv?month=2026-10").content.decode("utf-8-sig")
    assert october.splitlines() == [",".join(rows[0])]  # the header only


def test_the_attendance_route_is_documented_in_the_openapi_document(app: FastAPI, client: TestClient) -> None:
    """Issue 16 "API /api/v1/attendance/... (OpenAPI documented)": the route, its month parameter and a
    description naming the consent group are in /api/openapi.json."""
    document = client.get("/api/openapi.json").json()
    operation = document["paths"]["/api/v1/attendance/technicians/{technician_id}/months/{month}"]["get"]
    assert "`attendance`" in operation["description"] and "建退共" in operation["summary"]
    month = next(p for p in operation["parameters"] if p["name"] == "month")
    assert month["schema"]["pattern"] == r"^\d{4}-(0[1-9]|1[0-2])$"
