"""CCUS data in the ID token and at userinfo for the ``ccus.*`` scopes (issue 4, item 5: enforcement
wherever data leaves; OIDC Core §2 ID token, §5.3 userinfo, §5.4-5.5 where scope claims go; RFC 9396
authorization details). At userinfo always; in the ID token when the ``claims`` parameter asks.

The scope ``ccus.qualifications`` is shorthand for a ``genba_technician_data`` request for the
qualifications group. Until the employer approves too (rule 1, two-party consent), neither the ID
token nor userinfo carries any field, and both name what is missing; once both approve, exactly the
approved group appears (in a refreshed ID token too), each release is recorded with its channel;
after the employer revokes, the refresh is refused and nothing more leaves.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from idp import accounts
from idp.models import OAuthGrant
from tests.integration.register.test_consent_oauth_flow import _world
from tests.support.oidc import Client, authorize_url, exchange, follow_to_client, pkce, token_request, verify_id_token
from tests.support.web import csrf_of, runtime, sign_in

QUALIFICATIONS = [{"name": "玉掛け技能講習", "number": "T-123"}]
IN_ID_TOKEN = json.dumps({"id_token": {"ccus": None}})  # OIDC Core §5.5: the claims request parameter


def _set_record(app: FastAPI, technician_id: str) -> None:
    """Give the technician qualifications and a phone, so a leak of another group would show."""
    from register.models import TechnicianRecord

    rt = runtime(app)
    with Session(rt.engine) as s:
        technician = accounts.find_technician(session=s, technician_id=technician_id)
        assert technician is not None and technician.id is not None
        record = s.get(TechnicianRecord, technician.id) or TechnicianRecord(
            technician_pk=technician.id, updated_at=rt.clock()
        )
        record.qualifications = QUALIFICATIONS
        s.add(record)
        s.commit()


def _code_flow(client: TestClient, rp: Client, **params: str) -> dict[str, Any]:
    """Authorization code + PKCE S256 for the signed-in browser, consent approved; the token response."""
    verifier, challenge = pkce()
    result = follow_to_client(
        client, authorize_url(rp, code_challenge=challenge, code_challenge_method="S256", **params)
    )
    response = exchange(client, rp, result["code"], verifier)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _approve_as_employer(app: FastAPI, staff: object, consent_id: str) -> None:
    with TestClient(app, base_url="http://localhost") as employer:
        runtime(app).clock.advance(seconds=30)  # a fresh TOTP step for the employer's sign-in
        sign_in(employer, app, staff)  # type: ignore[arg-type]
        inbox = employer.get("/consent/employer")
        approved = employer.post(
            "/consent/employer/bulk",
            data={"csrf_token": csrf_of(inbox.text), "decision": "approve", f"id_{consent_id}": "1"},
        )
        assert approved.status_code == 200


def test_ccus_scope_claims_follow_two_party_consent_in_id_token_and_userinfo(app: FastAPI, client: TestClient) -> None:
    """Rule 1 and issue 4 item 5: ID token and userinfo carry ``ccus`` only under both approvals."""
    (person, staff), rp = _world(app)
    _set_record(app, person.username)
    sign_in(client, app, person)
    tokens = _code_flow(
        client, rp, scope="openid ccus.qualifications offline_access", prompt="consent", claims=IN_ID_TOKEN
    )
    consent_id = tokens["authorization_details"][0]["consent_id"]
    assert tokens["authorization_details"][0]["groups"] == ["qualifications"]
    first_refresh_token = tokens["refresh_token"]  # rotated below; a copy someone could have kept

    # awaiting the employer: nothing leaves, and the client is told why
    id_token = verify_id_token(client, tokens["id_token"])
    assert id_token["ccus"] == {} and id_token["ccus_withheld"]["qualifications"] == "awaiting_employer"
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    info = client.get("/userinfo", headers=bearer).json()
    assert info["ccus"] == {} and info["ccus_withheld"]["qualifications"] == "awaiting_employer"

    with TestClient(app, base_url="http://localhost") as employer:
        runtime(app).clock.advance(seconds=30)
        sign_in(employer, app, staff)
        inbox = employer.get("/consent/employer")
        approved = employer.post(
            "/consent/employer/bulk",
            data={"csrf_token": csrf_of(inbox.text), "decision": "approve", f"id_{consent_id}": "1"},
        )
        assert approved.status_code == 200

        refreshed = token_request(client, rp, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
        assert refreshed.status_code == 200, refreshed.text
        tokens = refreshed.json()
        id_token = verify_id_token(client, tokens["id_token"])
        assert id_token["ccus"] == {"qualifications": QUALIFICATIONS}  # that group only: no phone, no name
        assert "qualifications" not in id_token["ccus_withheld"]
        info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
        assert info["ccus"] == {"qualifications": QUALIFICATIONS}

        records = client.get("/consent/records.json").json()["records"]
        channels = sorted(r["actor"] for r in records if r["kind"] == "disclosure")
        assert channels == ["id_token", "userinfo"]  # one record per release, none while withheld

        inbox = employer.get("/consent/employer")
        revoked = employer.post(
            f"/consent/{consent_id}/revoke", data={"csrf_token": csrf_of(inbox.text), "confirmed": "yes"}
        )
        assert revoked.status_code == 200

    again = token_request(client, rp, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    refused = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert refused.status_code == 401

    # RFC 9700 §4.14.2: the rotated token replayed after the consent ended still revokes the whole grant
    runtime(app).clock.advance(seconds=60)  # past the concurrent-tabs grace
    replayed = token_request(client, rp, grant_type="refresh_token", refresh_token=first_refresh_token)
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_grant"
    with Session(runtime(app).engine) as s:
        grants = s.exec(select(OAuthGrant).where(col(OAuthGrant.client_id) == rp.client_id)).all()
        assert grants and all(g.revoked_at is not None for g in grants)


def test_face_photo_is_released_at_userinfo_but_never_put_in_an_id_token(app: FastAPI, client: TestClient) -> None:
    """Both approved ``face_photo`` and ``qualifications`` (RFC 9396 details): the ID token carries the
    qualifications only, userinfo both (register.claims: a data-URI photo does not belong in an ID token)."""
    (person, staff), rp = _world(app)
    _set_record(app, person.username)
    rt = runtime(app)
    with Session(rt.engine) as s:
        technician = accounts.find_technician(session=s, technician_id=person.username)
        assert technician is not None
        technician.face_photo, technician.face_photo_type = b"\xff\xd8\xff\xe0photo", "image/jpeg"
        s.add(technician)
        s.commit()
    details = [
        {
            "type": "genba_technician_data",
            "groups": ["qualifications", "face_photo"],
            "purpose": "顔認証入場のための本人確認",
            "period_end": (rt.clock().date() + timedelta(days=90)).isoformat(),
        }
    ]
    sign_in(client, app, person)
    tokens = _code_flow(client, rp, authorization_details=json.dumps(details, ensure_ascii=False), claims=IN_ID_TOKEN)
    _approve_as_employer(app, staff, tokens["authorization_details"][0]["consent_id"])
    refreshed = token_request(client, rp, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    tokens = refreshed.json()
    id_token = verify_id_token(client, tokens["id_token"])
    assert id_token["ccus"] == {"qualifications": QUALIFICATIONS}
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    assert set(info["ccus"]) == {"qualifications", "face_photo"}
    assert info["ccus"]["face_photo"].startswith("data:image/jpeg;base64,")


def test_ccus_stays_out_of_id_tokens_unless_asked_for_and_nothing_empty_is_recorded(
    app: FastAPI, client: TestClient
) -> None:
    """OIDC Core §5.4: with an access token issued, scope claims come from userinfo, so without the
    ``claims`` parameter no ID token carries ``ccus``. With it, a consent to the face photo alone puts
    nothing in the ID token, and no disclosure is recorded for it (APPI art. 29 records what left)."""
    (person, staff), rp = _world(app)
    rt = runtime(app)
    details = [
        {
            "type": "genba_technician_data",
            "groups": ["face_photo"],
            "purpose": "顔認証入場",
            "period_end": (rt.clock().date() + timedelta(days=30)).isoformat(),
        }
    ]
    sign_in(client, app, person)
    unasked = _code_flow(client, rp, authorization_details=json.dumps(details, ensure_ascii=False))
    asked = _code_flow(client, rp, authorization_details=json.dumps(details, ensure_ascii=False), claims=IN_ID_TOKEN)
    _approve_as_employer(app, staff, unasked["authorization_details"][0]["consent_id"])
    _approve_as_employer(app, staff, asked["authorization_details"][0]["consent_id"])

    plain = token_request(client, rp, grant_type="refresh_token", refresh_token=unasked["refresh_token"]).json()
    claims = verify_id_token(client, plain["id_token"])
    assert "ccus" not in claims and "ccus_withheld" not in claims

    photo_only = token_request(client, rp, grant_type="refresh_token", refresh_token=asked["refresh_token"]).json()
    claims = verify_id_token(client, photo_only["id_token"])
    assert claims["ccus"] == {}
    records = client.get("/consent/records.json").json()["records"]
    assert [r for r in records if r["kind"] == "disclosure"] == []  # nothing left, nothing recorded
