"""Worker caches that are never wrong (issue 14, "Caches that are never wrong for long"; docs/operations.md
"Worker caches", "Revoking"), on SQLite and PostgreSQL.

Each of the six revoking actions — disable a client, rotate its secret, revoke an access token, revoke
a grant, withdraw a consent, end an affiliation — is made once through a page (a person's page, or the
protocol endpoint that is a machine client's page) and once through the ``genba`` CLI. Two workers on
one database: two applications, each with its own engine, caches and (PostgreSQL) listener, as
``genba serve --workers 2`` runs them; on SQLite the second stands for another process on the same
file. Both are warmed (each has answered from its caches) before the action; a page is used on the
first worker (the same process), the CLI writes with its own engine (another process). The very next
request to every worker must be refused. Nothing sleeps: the fence returns only when every listener
has applied the change, and the tests wait for listener states on a condition.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from consent.models import ConsentRecord
from tests.support.clock import FrozenClock
from tests.support.oidc import Client
from tests.support.web import csrf_of, runtime
from tests.support.workers import (
    TECHNICIAN,
    Worker,
    client_token,
    consented,
    employer_page,
    end_on_page,
    introspect,
    own_record,
    refresh,
    rotate_on_page,
    scene,
    system_bearer,
    technician_record,
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


@pytest.mark.parametrize("way", ["page", "cli"])
def test_rotate_client_secret(workers: list[Worker], genba: Any, way: str) -> None:
    """RFC 6749 §2.3.1 and issue 14 "refused at once": once the secret is rotated — 「シークレットを再発行」
    on the employer page of one worker, or ``genba admin rotate-client-secret`` — the old secret is
    refused by every worker at the very next request (token and introspection), and the new one works."""
    s = scene(workers)
    warm(workers, lambda w: client_token(w, s.rp), 200)
    if way == "page":
        with employer_page(workers[0], s.admin) as browser:
            new = rotate_on_page(browser, s.rp.client_id)
    else:
        new = genba("admin", "rotate-client-secret", s.rp.client_id)["client_secret"]
    for worker in workers:
        assert client_token(worker, s.rp) == 401
        old = worker.api.post("/introspect", data={"token": s.access_token}, auth=(s.rp.client_id, s.rp.client_secret))
        assert old.status_code == 401
        assert client_token(worker, s.rp, new) == 200


@pytest.mark.parametrize("way", ["endpoint", "cli"])
def test_revoke_access_token(workers: list[Worker], genba: Any, way: str) -> None:
    """RFC 7009 §2 and issue 14: a revoked access token is refused by every worker at the very next
    request, revoked at /revoke on one worker or by ``genba admin revoke-token``."""
    s = scene(workers)
    warm(workers, lambda w: userinfo(w, s.access_token), 200)
    warm(workers, lambda w: int(introspect(w, s.rp, s.access_token)), 1)
    if way == "endpoint":
        auth = (s.rp.client_id, s.rp.client_secret or "")
        revoked = workers[0].api.post("/revoke", data={"token": s.access_token}, auth=auth)
        assert revoked.status_code == 200
    else:
        genba("admin", "revoke-token", s.access_token)
    for worker in workers:
        assert userinfo(worker, s.access_token) == 401
        assert introspect(worker, s.rp, s.access_token) is False


@pytest.mark.parametrize("way", ["endpoint", "cli"])
def test_revoke_grant(workers: list[Worker], genba: Any, way: str) -> None:
    """RFC 7009 §2 (revoking a refresh token revokes its grant) and issue 14: every access token of
    the grant is refused by every worker at the very next request, the grant revoked through /revoke
    with its refresh token on one worker or by ``genba admin revoke-grant``."""
    s = scene(workers)
    warm(workers, lambda w: userinfo(w, s.access_token), 200)
    warm(workers, lambda w: int(introspect(w, s.rp, s.access_token)), 1)
    if way == "endpoint":
        auth = (s.rp.client_id, s.rp.client_secret or "")
        revoked = workers[0].api.post("/revoke", data={"token": s.refresh_token}, auth=auth)
        assert revoked.status_code == 200
    else:
        genba("admin", "revoke-grant", s.gid)
    for worker in workers:
        assert userinfo(worker, s.access_token) == 401
        assert introspect(worker, s.rp, s.access_token) is False
    assert refresh(workers[1], s.rp, s.refresh_token) == 400


@pytest.mark.parametrize("way", ["page", "cli"])
def test_end_affiliation(workers: list[Worker], genba: Any, clock: FrozenClock, way: str) -> None:
    """docs/domain.md (the current employer's relationship) and issue 14: once the technician's
    affiliation has ended — 「所属を終了」 on the employer page of one worker, or ``genba admin
    end-affiliation`` — the former employer's system is refused the technician's data by every worker
    at the very next request, with the token it already holds."""
    s = scene(workers)
    bearer = system_bearer(workers[0], s.rp)
    warm(workers, lambda w: technician_record(w, bearer), 200)
    yesterday = (clock() - timedelta(days=1)).date().isoformat()
    if way == "page":
        with employer_page(workers[0], s.admin) as browser:
            end_on_page(browser, TECHNICIAN, yesterday)
    else:
        genba("admin", "end-affiliation", "--technician-id", TECHNICIAN, "--end", yesterday)
    for worker in workers:
        assert technician_record(worker, bearer) == 403


@pytest.mark.parametrize("way", ["page", "cli"])
def test_withdraw_consent(workers: list[Worker], genba: Any, clock: FrozenClock, way: str) -> None:
    """docs/domain.md rule 1 (revocation wins at once) and issue 14: once a two-party consent is
    withdrawn — by the employer on its page on one worker, or by the operator on the technician's
    written request with ``genba admin withdraw-consent`` — a token relying on it is refused by every
    worker at the very next request (RFC 9396: the authorization details it carries are no longer
    valid). The operator's withdrawal is recorded with the operator as actor, for the technician."""
    c = consented(workers, clock)
    warm(workers, lambda w: own_record(w, c.bearer), 200)
    if way == "page":
        clock.advance(seconds=30)  # a new TOTP code for the administrator's second sign-in
        with employer_page(workers[0], c.admin) as employer:
            inbox = employer.get("/consent/employer")
            revoked = employer.post(
                f"/consent/{c.consent_id}/revoke", data={"csrf_token": csrf_of(inbox.text), "confirmed": "yes"}
            )
            assert revoked.status_code == 200
    else:
        genba("admin", "create-operator", "--login", "ops", "--display-name", "運営 太郎")
        genba(
            "admin",
            "withdraw-consent",
            c.consent_id,
            "--on-request-of",
            "technician",
            "--operator",
            "ops",
            "--reference",
            "申請書 2026-0042",
        )
    for worker in workers:
        assert own_record(worker, c.bearer) == 401
    if way == "cli":
        with Session(workers[0].engine) as db:
            last = db.exec(select(ConsentRecord).order_by(col(ConsentRecord.seq).desc())).first()
        assert last is not None and last.kind == "consent.revoked"
        assert last.actor == f"operator:ops for technician:{TECHNICIAN}"
        assert last.detail == {"side": "technician", "reference": "申請書 2026-0042"}
        assert genba("audit", "verify")["ok"] is True
