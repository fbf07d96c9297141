"""Dynamic registration (RFC 7591/7592), key rollover (RFC 7517 §5, publish first, sign later) and
pairwise subjects (OIDC Core §8.1)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jws
from sqlalchemy import Engine
from sqlmodel import Session

from idp.oauth import keys as signing_keys
from idp.secretbox import SecretBox
from tests.conftest import TEST_SECRET
from tests.support.clock import FrozenClock
from tests.support.oidc import Client, authorize_url, exchange, follow_to_client, pkce, register_client, verify_id_token
from tests.support.web import build_app, make_technician, sign_in

INITIAL = "initial-access-token-for-tests-0123456789"


def _reg_app(tmp_path: Path, db_url: str, engine: Engine, clock: FrozenClock) -> FastAPI:
    return build_app(
        tmp_path, db_url, engine, clock, registration_token_sha256=hashlib.sha256(INITIAL.encode()).hexdigest()
    )


def test_registration_needs_the_initial_access_token(
    tmp_path: Path, db_url: str, engine: Engine, clock: FrozenClock, db: Session
) -> None:
    """RFC 7591 §3: the endpoint may require an initial access token; without it, 401 invalid_token."""
    app = _reg_app(tmp_path, db_url, engine, clock)
    with TestClient(app, base_url="http://localhost") as api:
        assert "registration_endpoint" in api.get("/.well-known/openid-configuration").json()
        body = {"redirect_uris": ["https://rp.example.jp/cb"], "client_name": "給与計算"}
        assert api.post("/register", json=body).status_code == 401
        assert api.post("/register", json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_register_read_update_delete(
    tmp_path: Path, db_url: str, engine: Engine, clock: FrozenClock, db: Session
) -> None:
    """RFC 7591 §3.2.1 response; RFC 7592 §2.1-§2.3 with the registration access token."""
    app = _reg_app(tmp_path, db_url, engine, clock)
    auth = {"Authorization": f"Bearer {INITIAL}"}
    with TestClient(app, base_url="http://localhost") as api:
        created = api.post(
            "/register",
            headers=auth,
            json={
                "redirect_uris": ["https://rp.example.jp/cb"],
                "client_name": "給与計算",
                "scope": "openid profile",
                "token_endpoint_auth_method": "client_secret_post",
            },
        )
        assert created.status_code == 201, created.text
        data = created.json()
        assert data["client_secret"] and data["registration_access_token"] and data["client_secret_expires_at"] == 0
        manage = {"Authorization": f"Bearer {data['registration_access_token']}"}
        uri = data["registration_client_uri"].removeprefix("http://localhost")
        assert api.get(uri, headers=manage).json()["client_name"] == "給与計算"
        assert api.get(uri, headers=auth).status_code == 401  # the initial token does not manage clients
        updated = api.put(
            uri,
            headers=manage,
            json={
                "redirect_uris": ["https://rp.example.jp/cb2"],
                "client_name": "給与計算 v2",
                "token_endpoint_auth_method": "client_secret_post",
            },
        )
        assert updated.status_code == 200 and updated.json()["redirect_uris"] == ["https://rp.example.jp/cb2"]
        # the secret survives an update: the client can still authenticate
        token = api.post(
            "/token",
            data={
                "grant_type": "client_credentials",
                "client_id": data["client_id"],
                "client_secret": data["client_secret"],
            },
        )
        assert token.status_code == 400 and token.json()["error"] == "unauthorized_client"  # authenticated, no grant
        assert api.delete(uri, headers=manage).status_code == 204
        assert api.get(uri, headers=manage).status_code == 401


def test_registration_refuses_bad_metadata(
    tmp_path: Path, db_url: str, engine: Engine, clock: FrozenClock, db: Session
) -> None:
    """RFC 7591 §3.2.2: invalid_redirect_uri and invalid_client_metadata — also for members authlib's
    validators would crash on (``"jwks": null`` was a 500, found by the protocol fuzzer)."""
    app = _reg_app(tmp_path, db_url, engine, clock)
    auth = {"Authorization": f"Bearer {INITIAL}"}
    with TestClient(app, base_url="http://localhost") as api:
        bad_uri = api.post("/register", headers=auth, json={"redirect_uris": ["http://rp.example.jp/cb"]})
        assert bad_uri.status_code == 400 and bad_uri.json()["error"] == "invalid_redirect_uri"
        implicit = api.post(
            "/register",
            headers=auth,
            json={"redirect_uris": ["https://rp.example.jp/cb"], "response_types": ["id_token"]},
        )
        assert implicit.status_code == 400 and implicit.json()["error"] == "invalid_client_metadata"
        not_json = api.post("/register", headers={**auth, "content-type": "application/json"}, content=b"{")
        assert not_json.status_code == 400
        null_jwks = api.post(
            "/register", headers=auth, json={"redirect_uris": ["https://rp.example.jp/cb"], "jwks": None}
        )
        assert null_jwks.status_code == 400 and null_jwks.json()["error"] == "invalid_client_metadata"


def test_registration_is_off_without_a_token(app: FastAPI, client: TestClient) -> None:
    assert "registration_endpoint" not in client.get("/.well-known/openid-configuration").json()
    assert client.post("/register", json={}).status_code == 404


def _kid(token: str) -> str:
    return str(jws.extract_compact(token.encode()).protected["kid"])


def test_key_rotation_publishes_first_and_signs_later(
    app: FastAPI, client: TestClient, db: Session, clock: FrozenClock
) -> None:
    """Publish the new key at once, sign with it only after the delay, keep the old one while its tokens live."""
    person = make_technician(app)
    rp = register_client(app)
    sign_in(client, app, person)

    def id_token() -> str:
        verifier, challenge = pkce()
        res = follow_to_client(client, authorize_url(rp, code_challenge=challenge, code_challenge_method="S256"))
        return str(exchange(client, rp, res["code"], verifier).json()["id_token"])

    old_kid = _kid(id_token())
    box = SecretBox(TEST_SECRET.encode(), "signing-keys", app.state.idp.rng)
    new = signing_keys.rotate(
        session=db, box=box, alg="ES256", now=clock.now, delay=timedelta(hours=1), retain=timedelta(hours=2)
    )
    db.commit()
    app.state.oauth.services.keys.refresh()
    kids = {k["kid"] for k in client.get("/jwks").json()["keys"]}
    assert {old_kid, new.kid} <= kids  # published at once
    assert _kid(id_token()) == old_kid  # but not used yet
    clock.advance(hours=1, seconds=1)
    app.state.oauth.services.keys.refresh()
    client.cookies.clear()
    sign_in(client, app, person)  # the browser session idled out meanwhile
    token = id_token()
    assert _kid(token) == new.kid
    verify_id_token(client, token)
    assert old_kid in {k["kid"] for k in client.get("/jwks").json()["keys"]}  # old tokens still verify
    clock.advance(hours=2)
    app.state.oauth.services.keys.refresh()
    assert old_kid not in {k["kid"] for k in client.get("/jwks").json()["keys"]}  # retired after retain


def test_private_keys_are_encrypted_at_rest(app: FastAPI, client: TestClient, db: Session) -> None:
    from sqlmodel import select

    from idp.models import SigningKey

    client.get("/jwks")
    row = db.exec(select(SigningKey)).first()
    assert row is not None and row.private_jwk_enc.startswith("v1:") and '"d"' not in row.private_jwk_enc
    assert "d" not in row.public_jwk


def test_pairwise_subjects_differ_between_sectors_and_are_stable(app: FastAPI, client: TestClient) -> None:
    """OIDC Core §8.1: two sectors cannot correlate the same technician; one sector always sees the same sub."""
    person = make_technician(app)
    a = register_client(app, subject_type="pairwise", redirect_uris=["https://attendance.example.jp/cb"])
    b = register_client(app, subject_type="pairwise", redirect_uris=["https://payroll.example.jp/cb"])
    public = register_client(app)
    sign_in(client, app, person)

    def sub(rp: Client) -> str:
        verifier, challenge = pkce()
        res = follow_to_client(client, authorize_url(rp, code_challenge=challenge, code_challenge_method="S256"))
        claims = verify_id_token(client, exchange(client, rp, res["code"], verifier).json()["id_token"])
        return str(claims["sub"])

    sub_a, sub_b, sub_public = sub(a), sub(b), sub(public)
    assert len({sub_a, sub_b, sub_public}) == 3
    assert sub(a) == sub_a
