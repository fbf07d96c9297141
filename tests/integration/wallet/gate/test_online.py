"""The gate's online flow (issue 7, item 2): OpenID4VP 1.0 request by reference, signed request object,
direct_post, single-use nonce, key binding aud = full client_id; entries recorded as work history."""

from __future__ import annotations

import base64
import json
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jwt
from sqlmodel import Session, select

from register.attendance.models import AttendanceEvent, AttendanceMonth
from register.models import WorkRecord
from tests.support.clock import FrozenClock
from tests.support.web import Person, runtime, sign_in
from tests.support.world import world_of
from tools.holder import HeldCredential, receive
from wallet.gate.models import GateEvent, GateRefusal
from wallet.offers import create_offer
from wallet.sdjwt import REGISTRY

PRIME = "31000000000034"
SUB = "31000000000018"
SITE = "GENBA-T-0001"


def _world(app: FastAPI, clock: FrozenClock) -> tuple[Person, Person]:
    """The technician (with TOTP) working for SUB, assigned to SITE under PRIME; PRIME's gate staff."""
    tech = "10000000000019"
    with Session(runtime(app).engine, expire_on_commit=False) as s:
        world = (
            world_of(app, s)
            .technician(tech, totp=True)
            .employer(PRIME, "株式会社 東京ゼネコン")
            .employer(SUB, "株式会社 山田工務店")
            .affiliation(tech, SUB, date(2020, 4, 1))
            .record(
                tech,
                level=3,
                occupations=["鉄筋"],
                health_insurance="enrolled",
                pension_insurance="enrolled",
                employment_insurance="exempt",
            )
            .site(SITE, "新砂物流センター新築工事", prime=PRIME, starts_on=clock().date() - timedelta(days=10))
            .tier(SITE, SUB, parent=PRIME)
            .assignment(SITE, tech, employer=SUB, start=clock().date() - timedelta(days=5), role="職長")
            .staff(PRIME, "gate", "門番 太郎")
        )
        s.commit()
    return world.logins[tech], world.logins[f"{PRIME}-gate"]


def _card(app: FastAPI, client: TestClient, person: Person, clock: FrozenClock) -> HeldCredential:
    wallet = app.state.wallet
    with Session(wallet.engine) as s:
        offer = create_offer(s, wallet, technician_id=person.username, configuration_ids=["ccus_card"])
        s.commit()
    held = receive(client, offer.link, tx_code=offer.tx_code, now=int(clock().timestamp()))
    assert len(held) == 1
    return held[0]


def _request(gate: TestClient, direction: str = "in") -> tuple[str, dict[str, object]]:
    created = gate.post(
        "/gate/requests", json={"site_id": SITE, "gate_id": "north", "work_kind": "general", "direction": direction}
    )
    assert created.status_code == 200, created.text
    query = parse_qs(urlsplit(created.json()["link"]).query)
    token = gate.get(query["request_uri"][0].removeprefix("http://localhost")).text
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    claims = jwt.decode(token, _key_from_x5c(header["x5c"][0]), algorithms=["ES256"], registry=REGISTRY).claims
    assert header["typ"] == "oauth-authz-req+jwt" and claims["client_id"] == query["client_id"][0]
    return created.json()["request_id"], claims


def _key_from_x5c(der_b64: str):  # type: ignore[no-untyped-def]
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from joserfc.jwk import ECKey

    cert = x509.load_der_x509_certificate(base64.b64decode(der_b64))
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)  # x509_san_dns client id names this host
    return ECKey.import_key(
        cert.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def test_online_presentation_enters_and_records_work_history(
    app: FastAPI, client: TestClient, clock: FrozenClock, db: Session
) -> None:
    """OpenID4VP 1.0 §5 (request by reference), §8.2 (direct_post); SD-JWT KB aud = client_id (§B.3.6)."""
    person, staff = _world(app, clock)
    card = _card(app, client, person, clock)
    with TestClient(app, base_url="http://localhost") as gate:
        clock.advance(seconds=31)
        sign_in(gate, app, staff)
        request_id, claims = _request(gate)
        assert claims["response_mode"] == "direct_post" and len(str(claims["nonce"])) >= 22  # 128 bits
        # §5.1 client_metadata: who asks, in words (issue 15, item 7) — the prime contractor as RFC 7591
        # client_name, the site as this profile's genba_site_name; what the gate verifies (§11.1)
        metadata = claims["client_metadata"]
        assert isinstance(metadata, dict)
        assert (
            metadata["client_name"] == "株式会社 東京ゼネコン"
            and metadata["genba_site_name"] == "新砂物流センター新築工事"
        )
        assert metadata["vp_formats_supported"] == {
            "dc+sd-jwt": {"sd-jwt_alg_values": ["ES256"], "kb-jwt_alg_values": ["ES256"]}
        }
        vp = card.present(
            reveal=["technician_id", "name", "level", "level_colour", "social_insurance"],
            aud=str(claims["client_id"]),
            nonce=str(claims["nonce"]),
            iat=int(clock().timestamp()),
        )
        answer = client.post(
            str(claims["response_uri"]).removeprefix("http://localhost"),
            data={"vp_token": json.dumps({"ccus_card": [vp]}), "state": claims["state"]},
        )
        assert answer.status_code == 200, answer.text
        result = gate.get(f"/gate/requests/{request_id}/result").json()
        assert result["answered"] and result["result"]["ok"], result
        assert result["result"]["name"] == "鈴木 一郎" and result["result"]["level"] == 3
        replay = client.post(
            str(claims["response_uri"]).removeprefix("http://localhost"),
            data={"vp_token": json.dumps({"ccus_card": [vp]}), "state": claims["state"]},
        )
        assert replay.status_code == 400  # nonce used once
        # the same presentation to a new request (new nonce) is refused
        request_id2, claims2 = _request(gate, "out")
        client.post(
            str(claims2["response_uri"]).removeprefix("http://localhost"),
            data={"vp_token": json.dumps({"ccus_card": [vp]}), "state": claims2["state"]},
        )
        refused = gate.get(f"/gate/requests/{request_id2}/result").json()["result"]
        assert not refused["ok"] and refused["reasons"][0]["code"] == "invalid_kb_nonce"
    assert len(db.exec(select(GateEvent)).all()) == 1 and len(db.exec(select(GateRefusal)).all()) == 1
    work = db.exec(select(WorkRecord)).one()
    assert work.entry_at is not None and work.role == "職長"
    # issue 16: the entry is kept for attendance as an online one, and its month is computed
    assert [(e.kind, e.source) for e in db.exec(select(AttendanceEvent)).all()] == [("entry", "online")]
    assert len(db.exec(select(AttendanceMonth)).all()) == 1


def test_missing_insurance_and_wrong_audience_are_red(app: FastAPI, client: TestClient, clock: FrozenClock) -> None:
    """Issue 7 item 4: requirements met (insurance disclosed) and KB aud = the full client_id."""
    person, staff = _world(app, clock)
    card = _card(app, client, person, clock)
    with TestClient(app, base_url="http://localhost") as gate:
        clock.advance(seconds=31)
        sign_in(gate, app, staff)
        for reveal, aud, code in (
            (["technician_id", "name", "level", "level_colour"], None, "requirement_not_met"),
            (["technician_id", "name", "level", "level_colour", "social_insurance"], "localhost", "invalid_kb_aud"),
        ):
            request_id, claims = _request(gate)
            vp = card.present(
                reveal=reveal,
                aud=aud or str(claims["client_id"]),
                nonce=str(claims["nonce"]),
                iat=int(clock().timestamp()),
            )
            client.post(
                str(claims["response_uri"]).removeprefix("http://localhost"),
                data={"vp_token": json.dumps({"ccus_card": [vp]}), "state": claims["state"]},
            )
            result = gate.get(f"/gate/requests/{request_id}/result").json()["result"]
            assert not result["ok"] and result["reasons"][0]["code"] == code, result


def test_prime_sees_today_and_technician_sees_own_history(app: FastAPI, client: TestClient, clock: FrozenClock) -> None:
    """Issue 7 item 6: the prime contractor sees today's roster live; the technician their own history."""
    person, staff = _world(app, clock)
    card = _card(app, client, person, clock)
    with TestClient(app, base_url="http://localhost") as gate:
        clock.advance(seconds=31)
        sign_in(gate, app, staff)
        _, claims = _request(gate)
        vp = card.present(
            reveal=["technician_id", "name", "level", "level_colour", "social_insurance"],
            aud=str(claims["client_id"]),
            nonce=str(claims["nonce"]),
            iat=int(clock().timestamp()),
        )
        client.post(
            str(claims["response_uri"]).removeprefix("http://localhost"),
            data={"vp_token": json.dumps({"ccus_card": [vp]}), "state": claims["state"]},
        )
        today = gate.get(f"/sites/{SITE}/today")
        assert today.status_code == 200 and "鈴木 一郎" in today.text and "10:00" in today.text  # 01:00:31 UTC
        assert gate.get("/history").status_code == 403  # staff have no work history
    clock.advance(seconds=31)
    sign_in(client, app, person)
    history = client.get("/history")
    assert history.status_code == 200 and SITE in history.text and "職長" in history.text
    assert client.get(f"/sites/{SITE}/today").status_code == 403  # technicians do not see the roster
