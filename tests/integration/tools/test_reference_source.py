"""The reference certificate source (tools/reference_source): OAuth code flow with PKCE, the
deliberately bad records, bulk paging, a source that fails mid-run, and keys that persist."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import stat
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from tools.reference_source.app import create_source_app
from tools.reference_source.seed import people

BASE = "http://localhost:8100"
REDIRECT = "http://localhost:9000/callback"
SUZUKI = {
    "name": "鈴木 一郎",
    "name_kana": "スズキ イチロウ",
    "birth_date": "1985-04-12",
    "technician_id": "10000000000019",
}
TAKAHASHI = {"name": "髙橋\u3000勇", "birth_date": "1990-07-07", "technician_id": "10000000000027"}
FIXED_COUNT = 16  # 13 in 鈴木 一郎's list, 3 in 髙橋 勇's


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def client_for(data_dir: Path, clock: Clock | None = None, **options: Any) -> TestClient:
    app = create_source_app(data_dir, issuer=BASE, clock=clock or time.time, **options)
    return TestClient(app, base_url=BASE, follow_redirects=False)


@pytest.fixture
def client(tmp_path: Path, clock: Clock) -> Iterator[TestClient]:
    with client_for(tmp_path / "source", clock) as c:
        yield c


def secret(client: TestClient) -> str:
    value: str = client.app.state.source.client_secret  # type: ignore[attr-defined]
    return value


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize(client: TestClient, challenge: str, **extra: str) -> Any:
    params = {
        "response_type": "code",
        "client_id": "genba-id",
        "redirect_uri": REDIRECT,
        "state": "st-123",
        "scope": "certificates",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return client.get("/authorize", params=params)


def sign_in_and_decide(
    client: TestClient, challenge: str, *, login: str = "suzuki", pin: str = "1234", decision: str = "approve"
) -> dict[str, list[str]]:
    page = authorize(client, challenge)
    assert page.status_code == 200
    assert 'name="login"' in page.text and 'name="pin"' in page.text
    signed_in = client.post("/authorize/login", data={"login": login, "pin": pin})
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/authorize/consent"
    consent = client.get("/authorize/consent")
    assert "現場ID にあなたの講習修了記録を提供しますか？" in consent.text
    assert 'name="decision" value="approve"' in consent.text and 'name="decision" value="deny"' in consent.text
    back = client.post("/authorize/consent", data={"decision": decision})
    assert back.status_code == 303
    location = back.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return parse_qs(urlsplit(location).query)


def redeem(client: TestClient, code: str, verifier: str, redirect_uri: str = REDIRECT) -> Any:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier}
    return client.post("/token", data=form, auth=("genba-id", secret(client)))


def bulk_token(client: TestClient) -> str:
    response = client.post(
        "/token", data={"grant_type": "client_credentials", "scope": "bulk"}, auth=("genba-id", secret(client))
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "bulk"
    token: str = response.json()["access_token"]
    return token


def my_records(client: TestClient, login: str = "suzuki", pin: str = "1234") -> list[str]:
    verifier, challenge = pkce()
    code = sign_in_and_decide(client, challenge, login=login, pin=pin)["code"][0]
    token = redeem(client, code, verifier).json()["access_token"]
    response = client.get("/api/v1/me/certificates", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    records: list[str] = response.json()["records"]
    return records


def payload_of(compact: str) -> dict[str, Any]:
    segment = compact.split(".")[1]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return data


def trust_list(client: TestClient) -> dict[str, dict[str, Any]]:
    """kid -> {body_id, key, valid_from, valid_until}, as an operator would load it."""
    out: dict[str, dict[str, Any]] = {}
    for body in client.get("/api/v1/bodies").json():
        for entry in body["keys"]:
            out[entry["kid"]] = {
                "body_id": body["body_id"],
                "key": ECKey.import_key(entry["jwk"]),
                "valid_from": entry["valid_from"] and datetime.fromisoformat(entry["valid_from"]),
                "valid_until": entry["valid_until"] and datetime.fromisoformat(entry["valid_until"]),
            }
    return out


def judge(compact: str, trusted: dict[str, dict[str, Any]], holder: dict[str, Any]) -> str:
    """What a careful importer concludes about one record."""
    header = json.loads(base64.urlsafe_b64decode(compact.split(".")[0] + "=="))
    assert header["alg"] == "ES256" and header["typ"] == "genba-training-record+jwt"
    signer = trusted.get(header["kid"])
    if signer is None:
        return "unknown_signer"
    try:
        claims = json.loads(jws.deserialize_compact(compact, signer["key"], algorithms=["ES256"]).payload)
    except JoseError:
        return "bad_signature"
    assert claims["iss"] == signer["body_id"]
    issued = datetime.fromtimestamp(claims["iat"], UTC)
    assert issued <= datetime.now(UTC)
    if (signer["valid_from"] and issued < signer["valid_from"]) or (
        signer["valid_until"] and issued >= signer["valid_until"]
    ):
        return "key_not_valid"
    if (claims["holder"]["name"], claims["holder"]["birth_date"]) != (holder["name"], holder["birth_date"]):
        return "other_person"
    return "revoked" if claims["status"] == "revoked" else "ok"


def test_metadata_and_published_bodies(client: TestClient) -> None:
    meta = client.get("/.well-known/oauth-authorization-server").json()
    assert meta["issuer"] == BASE and meta["token_endpoint"] == f"{BASE}/token"
    assert meta["authorization_endpoint"] == f"{BASE}/authorize"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["grant_types_supported"] == ["authorization_code", "client_credentials"]
    bodies = client.get("/api/v1/bodies").json()
    ids = [b["body_id"] for b in bodies]
    assert "jp.tokyo-kensetsu-gino" in ids and "jp.kanto-anzen-koshu" not in ids
    for body in bodies:
        for entry in body["keys"]:
            assert "d" not in entry["jwk"]
            assert ECKey.import_key(entry["jwk"]).thumbprint() == entry["kid"] == entry["jwk"]["kid"]
    crane = next(b for b in bodies if b["body_id"] == "jp.nihon-crane-kenshu")
    expired = [k for k in crane["keys"] if k["valid_until"]]
    assert len(crane["keys"]) == 2 and len(expired) == 1
    assert datetime.fromisoformat(expired[0]["valid_until"]) < datetime.now(UTC)


def test_code_flow_with_pkce_refuses_a_wrong_verifier(client: TestClient) -> None:
    verifier, challenge = pkce()
    query = sign_in_and_decide(client, challenge)
    assert query["state"] == ["st-123"] and query["iss"] == [BASE]
    wrong = redeem(client, query["code"][0], pkce()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    # the code is spent even by a failed attempt: no guessing the verifier
    assert redeem(client, query["code"][0], verifier).json()["error"] == "invalid_grant"

    verifier, challenge = pkce()
    code = sign_in_and_decide(client, challenge)["code"][0]
    assert redeem(client, code, verifier, "http://localhost:9000/other").json()["error"] == "invalid_grant"

    verifier, challenge = pkce()
    code = sign_in_and_decide(client, challenge)["code"][0]
    token = redeem(client, code, verifier)
    assert token.status_code == 200 and token.headers["cache-control"] == "no-store"
    body = token.json()
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 600, "certificates")
    records = client.get("/api/v1/me/certificates", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert len(records.json()["records"]) == 13
    # single use: a replayed code fails and takes the token it gave with it
    assert redeem(client, code, verifier).json()["error"] == "invalid_grant"
    again = client.get("/api/v1/me/certificates", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert again.status_code == 401


def test_codes_expire_after_60_seconds(client: TestClient, clock: Clock) -> None:
    verifier, challenge = pkce()
    code = sign_in_and_decide(client, challenge)["code"][0]
    clock.now += 61
    assert redeem(client, code, verifier).json()["error"] == "invalid_grant"


def test_sign_in_consent_and_refusals(client: TestClient) -> None:
    _, challenge = pkce()
    authorize(client, challenge)
    wrong = client.post("/authorize/login", data={"login": "suzuki", "pin": "0000"})
    assert wrong.status_code == 401 and "正しくありません" in wrong.text
    assert sign_in_and_decide(client, challenge, decision="deny") == {
        "error": ["access_denied"],
        "error_description": ["the person declined"],
        "state": ["st-123"],
        "iss": [BASE],
    }
    assert authorize(client, challenge, client_id="someone").status_code == 400
    for uri in ("http://localhost.evil.example/cb", "http://localhost:80@evil.example/", "ftp://localhost/x"):
        assert authorize(client, challenge, redirect_uri=uri).status_code == 400
    for bad in ({"code_challenge_method": "plain"}, {"code_challenge": ""}, {"response_type": "token"}):
        response = authorize(client, challenge, **bad)
        assert response.status_code == 303 and "error=" in response.headers["location"]
    assert "error=invalid_scope" in authorize(client, challenge, scope="openid").headers["location"]
    assert client.post("/authorize/consent", data={"decision": "approve"}).status_code == 400  # no sign-in


def test_token_endpoint_errors(client: TestClient) -> None:
    bad_secret = client.post("/token", data={"grant_type": "client_credentials"}, auth=("genba-id", "nope"))
    assert bad_secret.status_code == 401 and bad_secret.json()["error"] == "invalid_client"
    assert bad_secret.headers["www-authenticate"].startswith("Basic")
    assert client.post("/token", data={"grant_type": "client_credentials"}).json()["error"] == "invalid_client"
    auth = ("genba-id", secret(client))
    assert client.post("/token", data={"grant_type": "password"}, auth=auth).json()["error"] == "unsupported_grant_type"
    scoped = client.post("/token", data={"grant_type": "client_credentials", "scope": "certificates"}, auth=auth)
    assert scoped.json()["error"] == "invalid_scope"
    assert client.post("/token", data={"grant_type": "authorization_code"}, auth=auth).json()["error"] == (
        "invalid_request"
    )


def test_every_deliberately_bad_record_is_bad_in_its_own_way(client: TestClient) -> None:
    records = my_records(client)
    trusted = trust_list(client)
    by_id = {payload_of(r)["record_id"]: r for r in records}
    verdicts = {record_id: judge(r, trusted, SUZUKI) for record_id, r in by_id.items()}
    assert verdicts == {
        "TR-000001": "ok",
        "TR-000002": "ok",
        "TR-000003": "ok",
        "TR-000004": "ok",
        "TR-000005": "ok",
        "TR-000006": "ok",
        "TR-000007": "bad_signature",
        "TR-000008": "unknown_signer",
        "TR-000009": "other_person",
        "TR-000010": "key_not_valid",
        "TR-000011": "revoked",
        "TR-000012": "ok",
        "TR-000013": "ok",
    }
    good = [payload_of(by_id[f"TR-00000{n}"]) for n in range(1, 7)]
    assert len({p["iss"] for p in good}) >= 4
    assert all(p["holder"] == SUZUKI for p in good)
    # TR-000002 was signed with the crane school's old key while it was valid (key rotation).
    assert trusted[json.loads(base64.urlsafe_b64decode(by_id["TR-000002"].split(".")[0] + "=="))["kid"]]["valid_until"]

    tampered = payload_of(by_id["TR-000007"])
    assert tampered["course_code"] == "katawaku-shiho-shunin" and tampered["iss"] in {
        t["body_id"] for t in trusted.values()
    }
    assert payload_of(by_id["TR-000008"])["iss"] == "jp.kanto-anzen-koshu"
    other = payload_of(by_id["TR-000009"])["holder"]
    assert other["name"] != SUZUKI["name"] and other["birth_date"] != SUZUKI["birth_date"]
    old, new = payload_of(by_id["TR-000012"]), payload_of(by_id["TR-000013"])
    assert new["supersedes"] == old["certificate_number"] == "第11-2046号"
    assert (old["iss"], old["course_code"]) == (new["iss"], new["course_code"]) and old["supersedes"] is None
    assert payload_of(by_id["TR-000011"])["status"] == "revoked"


def test_old_form_kanji_person(client: TestClient) -> None:
    records = my_records(client, login="takahashi", pin="5678")
    trusted = trust_list(client)
    assert [judge(r, trusted, TAKAHASHI) for r in records] == ["ok", "ok", "ok"]
    assert {payload_of(r)["holder"]["technician_id"] for r in records} == {"10000000000027"}


def test_bulk_pages_cover_every_record_once_in_a_stable_order(tmp_path: Path) -> None:
    with client_for(tmp_path / "s", bulk=50, seed=11) as client:
        token = bulk_token(client)
        ids: list[str] = []
        seen_records: list[str] = []
        cursor: int | None = 0
        while cursor is not None:
            page = client.get(
                "/api/v1/records", params={"cursor": cursor, "limit": 7}, headers={"Authorization": f"Bearer {token}"}
            ).json()
            seen_records += page["records"]
            ids += [payload_of(r)["record_id"] for r in page["records"]]
            cursor = page["next_cursor"]
        assert len(ids) == len(set(ids)) == FIXED_COUNT + 50
        assert ids[:2] == ["TR-000001", "TR-000002"] and ids[FIXED_COUNT] == "TR-B0000001"
        trusted = trust_list(client)
        holders = {p["technician_id"]: p for p in people(11, 50)}
        for record in seen_records[FIXED_COUNT:]:
            holder = payload_of(record)["holder"]
            assert judge(record, trusted, holders[holder["technician_id"]]) == "ok"
            assert date.fromisoformat(payload_of(record)["completed_on"]) <= date.today()
    with client_for(tmp_path / "other", bulk=50, seed=11) as again:
        everything = again.get(
            "/api/v1/records", params={"limit": 1000}, headers={"Authorization": f"Bearer {bulk_token(again)}"}
        ).json()
        assert everything["next_cursor"] is None
        assert [payload_of(r) for r in everything["records"]] == [payload_of(r) for r in seen_records]


def test_records_needs_a_bulk_token_and_sane_paging(client: TestClient) -> None:
    assert client.get("/api/v1/records").status_code == 401
    assert client.get("/api/v1/records", headers={"Authorization": "Bearer nope"}).status_code == 401
    verifier, challenge = pkce()
    person = redeem(client, sign_in_and_decide(client, challenge)["code"][0], verifier).json()["access_token"]
    assert client.get("/api/v1/records", headers={"Authorization": f"Bearer {person}"}).status_code == 403
    operator = {"Authorization": f"Bearer {bulk_token(client)}"}
    assert client.get("/api/v1/me/certificates", headers=operator).status_code == 403
    for params in ({"limit": 0}, {"limit": 1001}, {"cursor": -1}, {"cursor": "x"}):
        assert client.get("/api/v1/records", params=params, headers=operator).status_code == 400
    assert client.get("/api/v1/records", params={"cursor": 999}, headers=operator).json() == {
        "records": [],
        "next_cursor": None,
    }


def test_fail_after_makes_the_source_fail_mid_run(tmp_path: Path) -> None:
    with client_for(tmp_path / "s", fail_after=2) as client:
        headers = {"Authorization": f"Bearer {bulk_token(client)}"}
        first = client.get("/api/v1/records", params={"limit": 5}, headers=headers)
        second = client.get("/api/v1/records", params={"cursor": 5, "limit": 5}, headers=headers)
        assert (first.status_code, second.status_code) == (200, 200)
        for _ in range(3):
            assert client.get("/api/v1/records", params={"cursor": 10}, headers=headers).status_code == 500


def test_keys_and_secret_persist_across_restarts(tmp_path: Path) -> None:
    data_dir = tmp_path / "s"
    with client_for(data_dir) as first:
        kids = sorted(trust_list(first))
        first_secret = secret(first)
        unknown_kid = json.loads(base64.urlsafe_b64decode(my_records(first)[7].split(".")[0] + "=="))["kid"]
    files = sorted((data_dir / "keys").glob("*.json"))
    assert len(files) == 7  # 5 published bodies, the crane school's old key, the unknown body
    before = {f.name: f.read_bytes() for f in files}
    for path in [*files, data_dir / "client_secret"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert all('"d"' in text.decode() for text in before.values())
    with client_for(data_dir) as second:
        assert sorted(trust_list(second)) == kids and secret(second) == first_secret
        assert {f.name: f.read_bytes() for f in (data_dir / "keys").glob("*.json")} == before
        again = json.loads(base64.urlsafe_b64decode(my_records(second)[7].split(".")[0] + "=="))["kid"]
        assert again == unknown_kid and unknown_kid not in kids
    with client_for(tmp_path / "elsewhere") as fresh:
        assert not set(trust_list(fresh)) & set(kids)


def test_people_are_deterministic() -> None:
    assert people(7, 5) == people(7, 20)[:5]
    assert people(7, 5) != people(8, 5)
    ids = [p["technician_id"] for p in people(3, 500)]
    assert len(set(ids)) == 500 and all(re.fullmatch(r"2\d{13}", i) for i in ids)
