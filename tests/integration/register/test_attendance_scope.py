"""The scope ``ccus.attendance`` (issue 16, "an OIDC scope for attendance systems"): shorthand for a
``genba_technician_data`` request for the ``attendance`` group, as the other ``ccus.*`` scopes
(``register/details.py``). A time-and-attendance vendor's token reads the technician's month only once
the employer has approved too (rule 1), and the read is recorded (rule 6)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.integration.register.test_ccus_id_token_claims import _approve_as_employer, _code_flow
from tests.integration.register.test_consent_oauth_flow import TECHNICIAN, _world
from tests.support.web import sign_in


def test_the_attendance_scope_asks_for_the_attendance_group_and_reads_after_both_approve(
    app: FastAPI, client: TestClient
) -> None:
    """Rule 1 through OAuth: the technician's approval alone gives 403; with the employer's, 200."""
    (person, staff), rp = _world(app)
    sign_in(client, app, person)
    tokens = _code_flow(client, rp, scope="openid ccus.attendance", prompt="consent")
    (detail,) = tokens["authorization_details"]
    assert detail["groups"] == ["attendance"]
    url = f"/api/v1/attendance/technicians/{TECHNICIAN}/months/2026-11"
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    refused = client.get(url, headers=bearer)
    assert refused.status_code == 403 and refused.json()["missing"]["attendance"]["code"] == "awaiting_employer"
    _approve_as_employer(app, staff, detail["consent_id"])
    answer = client.get(url, headers=bearer)
    assert answer.status_code == 200, answer.text
    assert answer.json()["employers"] == []  # no gate events: an empty month, still a disclosure
    records = client.get("/consent/records.json").json()["records"]
    assert [r["actor"] for r in records if r["kind"] == "disclosure"] == ["api:attendance"]
