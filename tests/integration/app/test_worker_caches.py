"""Worker caches that are never wrong (issue 14, "Caches that are never wrong for long"; docs/operations.md
"Worker caches"), on SQLite and PostgreSQL.

Two workers on one database: two applications, each with its own engine, caches and (PostgreSQL)
listener, as ``genba serve --workers 2`` runs them; on SQLite the second stands for another process
on the same file. Both are warmed (each has answered from its caches) before a revocation is made
through a page or endpoint of the first worker, or through the ``genba`` CLI; the very next request
to every worker must be refused. Nothing sleeps: the fence returns only when every listener has
applied the change, and the tests wait for listener states on a condition.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.support.clock import FrozenClock
from tests.support.oidc import Client, authorize_url, exchange, follow_to_client, pkce
from tests.support.web import csrf_of, runtime, sign_in
from tests.support.workers import (
    EMPLOYER,
    SYSTEM,
    TECHNICIAN,
    Worker,
    client_token,
    employer_reads_technician,
    refresh,
    scene,
    userinfo,
    warm,
)
from tests.support.world import world_of


def test_disable_client_through_the_registration_endpoint_or_the_cli(workers: list[Worker], genba: Any) -> None:
    """Issue 14 "refused at once": a disabled client's tokens and credentials are refused by every
    worker at the very next request, disabled by RFC 7592 §2.3 DELETE on one worker, then (another
    client) by ``genba admin disable-client``."""
    s = scene(workers)
    warm(workers, lambda w: userinfo(w, s.access_token), 200)
    warm(workers, lambda w: client_token(w, s.rp), 200)
    deleted = workers[0].api.delete(
        f"/register/{s.rp.client_id}", headers={"Authorization": f"Bearer {s.registration_token}"}
    )
    assert deleted.status_code == 204
    for worker in workers:
        assert userinfo(worker, s.access_token) == 401
        assert client_token(worker, s.rp) == 401

    app = workers[0].app
    with Session(runtime(app).engine, expire_on_commit=False) as db:
        world = world_of(app, db).client("入退場", ["https://gate.example.jp/cb"], grant_types=["client_credentials"])
        db.commit()
    other = Client(world.clients["入退場"].client.client_id, world.clients["入退場"].client_secret)
    warm(workers, lambda w: client_token(w, other), 200)
    genba("admin", "disable-client", other.client_id)
    for worker in workers:
        assert client_token(worker, other) == 401


def test_rotate_client_secret_through_the_cli(workers: list[Worker], genba: Any) -> None:
    """Issue 14 "refused at once": after ``genba admin rotate-client-secret`` the old secret is refused
    by every worker at the very next request, and the new one is accepted."""
    s = scene(workers)
    warm(workers, lambda w: client_token(w, s.rp), 200)
    new = genba("admin", "rotate-client-secret", s.rp.client_id)["client_secret"]
    for worker in workers:
        assert client_token(worker, s.rp) == 401
        assert client_token(worker, s.rp, new) == 200


@pytest.mark.parametrize("way", ["endpoint", "cli"])
def test_revoke_access_token(workers: list[Worker], genba: Any, way: str) -> None:
    """RFC 7009 §2 and issue 14: a revoked access token is refused by every worker at the very next
    request, revoked at /revoke on one worker or by ``genba admin revoke-token``."""
    s = scene(workers)
    warm(workers, lambda w: userinfo(w, s.access_token), 200)
    if way == "endpoint":
        auth = (s.rp.client_id, s.rp.client_secret or "")
        revoked = workers[0].api.post("/revoke", data={"token": s.access_token}, auth=auth)
        assert revoked.status_code == 200
    else:
        genba("admin", "revoke-token", s.access_token)
    for worker in workers:
        assert userinfo(worker, s.access_token) == 401


@pytest.mark.parametrize("way", ["endpoint", "cli"])
def test_revoke_grant(workers: list[Worker], genba: Any, way: str) -> None:
    """RFC 7009 §2 (revoking a refresh token revokes its grant) and issue 14: every access token of
    the grant is refused by every worker at the very next request, the grant revoked through /revoke
    with its refresh token on one worker or by ``genba admin revoke-grant``."""
    s = scene(workers)
    warm(workers, lambda w: userinfo(w, s.access_token), 200)
    if way == "endpoint":
        auth = (s.rp.client_id, s.rp.client_secret or "")
        revoked = workers[0].api.post("/revoke", data={"token": s.refresh_token}, auth=auth)
        assert revoked.status_code == 200
    else:
        genba("admin", "revoke-grant", s.gid)
    for worker in workers:
        assert userinfo(worker, s.access_token) == 401
    assert refresh(workers[1], s.rp, s.refresh_token) == 400


def test_end_affiliation_through_the_cli(workers: list[Worker], genba: Any, clock: FrozenClock) -> None:
    """docs/domain.md (the current employer's relationship) and issue 14: once ``genba admin
    end-affiliation`` has ended the technician's affiliation, the former employer's system is refused
    the technician's data by every worker at the very next request."""
    s = scene(workers)
    warm(workers, lambda w: employer_reads_technician(w, s.rp), 200)
    yesterday = (clock() - timedelta(days=1)).date().isoformat()
    genba("admin", "end-affiliation", "--technician-id", TECHNICIAN, "--end", yesterday)
    for worker in workers:
        assert employer_reads_technician(worker, s.rp) == 403


def test_revoke_consent_through_the_page(workers: list[Worker], clock: FrozenClock) -> None:
    """docs/domain.md rule 1 (revocation wins at once) and issue 14: once the employer withdraws a
    two-party consent on its page on one worker, a token relying on it is refused by every worker at
    the very next request (RFC 9396: the authorization details it carries are no longer valid)."""
    app, browser = workers[0].app, workers[0].api
    vendor = "42000000000017"
    with Session(runtime(app).engine, expire_on_commit=False) as s:
        world = (
            world_of(app, s)
            .employer(EMPLOYER, "株式会社 山田工務店", address="東京都江東区")
            .employer(vendor, "勤怠ソフト株式会社", address="大阪府", phone="06-1234-5678")
            .technician(TECHNICIAN, totp=True, employer=EMPLOYER)
            .staff(EMPLOYER, "admin", "山田 花子", role="admin")
            .client(SYSTEM, ["https://rp.example.jp/cb"], owner_employer=vendor)
        )
        s.commit()
    rp = Client(world.clients[SYSTEM].client.client_id, world.clients[SYSTEM].client_secret)
    wanted = {"groups": ["qualifications"], "purpose": "資格確認", "period_end": "2027-03-31"}
    details = [{"type": "genba_technician_data", **wanted}]
    sign_in(browser, app, world.logins[TECHNICIAN])
    verifier, challenge = pkce()
    asked = {"code_challenge": challenge, "code_challenge_method": "S256"}
    link = authorize_url(rp, authorization_details=json.dumps(details, ensure_ascii=False), **asked)
    result = follow_to_client(browser, link)
    assert "code" in result, result
    granted = exchange(browser, rp, result["code"], verifier).json()
    consent_id = granted["authorization_details"][0]["consent_id"]
    bearer = {"Authorization": f"Bearer {granted['access_token']}"}
    with TestClient(app, base_url="http://localhost") as employer:
        clock.advance(seconds=30)
        sign_in(employer, app, world.logins[f"{EMPLOYER}-admin"])
        inbox = employer.get("/consent/employer")
        form = {"csrf_token": csrf_of(inbox.text), "decision": "approve", f"id_{consent_id}": "1"}
        assert employer.post("/consent/employer/bulk", data=form).status_code == 200
        warm(workers, lambda w: w.api.get("/api/v1/technicians/me", headers=bearer).status_code, 200)
        inbox = employer.get("/consent/employer")
        revoked = employer.post(
            f"/consent/{consent_id}/revoke", data={"csrf_token": csrf_of(inbox.text), "confirmed": "yes"}
        )
        assert revoked.status_code == 200
    for worker in workers:
        assert worker.api.get("/api/v1/technicians/me", headers=bearer).status_code == 401
