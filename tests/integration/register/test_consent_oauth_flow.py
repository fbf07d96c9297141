"""Consent over OAuth (issue 4, items 4-5): an RFC 9396 authorization details request, technician and
employer approval, data API reads of exactly the approved fields, revocation stopping the token at once."""

from __future__ import annotations

import json
from datetime import date

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from idp import accounts
from idp.oauth.clients import create_client
from tests.support.oidc import Client, authorize_url, exchange, follow_to_client, pkce
from tests.support.web import PASSWORD, csrf_of, make_technician, runtime, sign_in

EMPLOYER = "31000000000018"


def _world(app: FastAPI) -> tuple[object, Client]:
    rt = runtime(app)
    with Session(rt.engine, expire_on_commit=False) as s:
        accounts.create_employer(
            session=s,
            employer_id=EMPLOYER,
            trade_name="株式会社 山田工務店",
            address="東京都江東区",
            phone="03-1234-5678",
            now=rt.clock(),
        )
        accounts.create_employer(
            session=s,
            employer_id="42000000000017",
            trade_name="勤怠ソフト株式会社",
            address="大阪府",
            phone="06-1234-5678",
            now=rt.clock(),
        )
        s.commit()
    person = make_technician(app)
    with Session(rt.engine, expire_on_commit=False) as s:
        accounts.link_affiliation(
            session=s, technician_id=person.username, employer_id=EMPLOYER, start_date=date(2020, 4, 1), now=rt.clock()
        )
        staff, _ = accounts.create_staff(
            session=s,
            employer_id=EMPLOYER,
            login="admin",
            display_name="山田 花子",
            role="admin",
            password=PASSWORD,
            passwords=rt.passwords,
            rng=rt.rng,
            now=rt.clock(),
        )
        from idp import enrolment

        staff_secret = enrolment.enrol_totp_directly(session=s, account=staff, box=rt.totp_box, rng=rt.rng)
        owner = accounts.find_employer(session=s, employer_id="42000000000017")
        new = create_client(
            session=s,
            client_name="勤怠管理システム",
            redirect_uris=["https://rp.example.jp/cb"],
            rng=rt.rng,
            now=rt.clock(),
        )
        assert owner is not None
        new.client.owner_employer_pk = owner.id
        s.add(new.client)
        s.commit()
    from tests.support.web import Person

    staff_person = Person(staff.username, PASSWORD, staff_secret, staff.id or 0)
    return (person, staff_person), Client(new.client.client_id, new.client_secret)


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
        revoked = employer.post(f"/consent/{consent_id}/revoke", data={"csrf_token": csrf_of(inbox.text)})
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
