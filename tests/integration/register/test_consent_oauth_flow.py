"""Consent over OAuth (issue 4, items 4-5): an RFC 9396 authorization details request, technician and
employer approval, data API reads of exactly the approved fields, revocation stopping the token at once."""

from __future__ import annotations

import json
from datetime import date

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.support.oidc import Client, authorize_url, exchange, follow_to_client, pkce
from tests.support.web import csrf_of, runtime, sign_in
from tests.support.world import world_of

EMPLOYER = "31000000000018"
VENDOR = "42000000000017"
TECHNICIAN = "10000000000019"


def _world(app: FastAPI) -> tuple[object, Client]:
    """The technician (password + TOTP) employed by EMPLOYER, its admin, and a time-and-attendance
    vendor's client (another company: no relationship to the technician, so consent is needed)."""
    with Session(runtime(app).engine, expire_on_commit=False) as s:
        world = (
            world_of(app, s)
            .employer(EMPLOYER, "株式会社 山田工務店", address="東京都江東区")
            .employer(VENDOR, "勤怠ソフト株式会社", address="大阪府", phone="06-1234-5678")
            .technician(TECHNICIAN, totp=True, employer=EMPLOYER, since=date(2020, 4, 1))
            .staff(EMPLOYER, "admin", "山田 花子", role="admin")
            .client("勤怠管理システム", ["https://rp.example.jp/cb"], owner_employer=VENDOR)
        )
        s.commit()
    made = world.clients["勤怠管理システム"]
    staff = world.logins[f"{EMPLOYER}-admin"]
    return (world.logins[TECHNICIAN], staff), Client(made.client.client_id, made.client_secret)


def test_two_party_consent_over_oauth_then_revocation(app: FastAPI, client: TestClient) -> None:
    """Rule 1: nothing until both approve; then exactly the approved groups; employer revokes → refused at once."""
    (person, staff), rp = _world(app)
    details = [
        {
            "type": "genba_technician_data",
            "groups": ["qualifications"],
            "purpose": "入退場管理のための資格確認",
            "period_end": "2027-03-31",
        }
    ]
    sign_in(client, app, person)
    verifier, challenge = pkce()
    page = client.get(
        authorize_url(
            rp,
            code_challenge=challenge,
            code_challenge_method="S256",
            authorization_details=json.dumps(details, ensure_ascii=False),
        )
    )
    assert (
        page.status_code == 200
        and "入退場管理のための資格確認" in page.text
        and 'data-group="qualifications"' in page.text
    )
    result = follow_to_client(
        client,
        authorize_url(
            rp,
            code_challenge=challenge,
            code_challenge_method="S256",
            authorization_details=json.dumps(details, ensure_ascii=False),
        ),
    )
    tokens = exchange(client, rp, result["code"], verifier).json()
    assert tokens["authorization_details"][0]["groups"] == ["qualifications"]
    consent_id = tokens["authorization_details"][0]["consent_id"]
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}

    waiting = client.get("/api/v1/technicians/me", headers=bearer)
    assert waiting.status_code == 403
    assert waiting.json()["missing"]["qualifications"]["code"] == "awaiting_employer"

    with TestClient(app, base_url="http://localhost") as employer:
        app.state.idp.clock.advance(seconds=30)
        sign_in(employer, app, staff)
        inbox = employer.get("/consent/employer")
        assert f'name="id_{consent_id}"' in inbox.text and "入退場管理のための資格確認" in inbox.text
        approved = employer.post(
            "/consent/employer/bulk",
            data={"csrf_token": csrf_of(inbox.text), "decision": "approve", f"id_{consent_id}": "1"},
        )
        assert approved.status_code == 200

        data = client.get("/api/v1/technicians/me", headers=bearer)
        assert data.status_code == 200, data.text
        body = data.json()
        assert set(body["technician"]) == {"qualifications"} and body["allowed_groups"] == ["qualifications"]
        assert "two-party-consent" in body["rules"]

        inbox = employer.get("/consent/employer")
        revoked = employer.post(
            f"/consent/{consent_id}/revoke", data={"csrf_token": csrf_of(inbox.text), "confirmed": "yes"}
        )
        assert revoked.status_code == 200

    refused = client.get("/api/v1/technicians/me", headers=bearer)
    assert refused.status_code == 401  # the token relied on the consent: it stops working at once
    auth = (rp.client_id, rp.client_secret or "")
    assert client.post("/introspect", data={"token": tokens["access_token"]}, auth=auth).json() == {"active": False}
    records = client.get("/consent/records.json").json()["records"]
    kinds = [r["kind"] for r in records]
    assert kinds.count("disclosure") == 1 and "consent.revoked" in kinds


def test_unknown_authorization_details_type_is_refused(app: FastAPI, client: TestClient) -> None:
    """RFC 9396 §5: invalid_authorization_details for unknown types, back to the client."""
    (person, _staff), rp = _world(app)
    sign_in(client, app, person)
    _, challenge = pkce()
    result = follow_to_client(
        client,
        authorize_url(
            rp,
            code_challenge=challenge,
            code_challenge_method="S256",
            authorization_details='[{"type": "payment_initiation"}]',
        ),
    )
    assert result["error"] == "invalid_authorization_details"
