"""Token Status List (draft-ietf-oauth-status-list): the published ``statuslist+jwt``, revocation,
suspension and resumption through the ``genba credentials`` CLI and ``wallet.status.set_status``,
``wallet.sync.sync`` against connectors' Certificate table and the register's affiliations, and the
notification endpoint's ``credential_deleted``."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from connectors.models import Certificate
from idp import accounts
from tests.conftest import TEST_SECRET
from tests.integration.wallet.conftest import Seeded
from tests.support.clock import FrozenClock
from tests.support.wallet import OTHER_EMPLOYER_ID, Wallet, error_of, jwt_parts, new_offer, split_sd_jwt
from wallet import sdjwt, status
from wallet.models import IssuedCredential
from wallet.runtime import WalletRuntime
from wallet.sync import sync

VALID, INVALID, SUSPENDED = 0, 1, 2


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> Iterator[CliRunner]:
    """The real ``genba credentials`` commands on the test database."""

    monkeypatch.setenv("GENBA_DATABASE_URL", db_url)
    monkeypatch.setenv("GENBA_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("GENBA_ENVIRONMENT", "test")
    monkeypatch.chdir(tmp_path)
    yield CliRunner()


def genba(runner: CliRunner, *args: str) -> Any:
    from app.cli import cli

    result = runner.invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def reference(credential: str) -> dict[str, Any]:
    _, payload = jwt_parts(split_sd_jwt(credential)[0])
    ref: dict[str, Any] = payload["status"]["status_list"]
    return ref


def published_status(client: TestClient, credential: str) -> int:
    """Fetch the credential's status list as a verifier would, check the token, read the entry."""
    ref = reference(credential)
    response = client.get(ref["uri"].removeprefix("http://localhost"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/statuslist+jwt")  # §5.1 / §14 media type
    token = response.text
    header, claims = jwt_parts(token)
    assert header["typ"] == "statuslist+jwt" and header["alg"] == "ES256"  # §5.1
    leaf = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    jwt.decode(token, ECKey.import_key(leaf.public_key()), algorithms=["ES256"], registry=sdjwt.REGISTRY)  # type: ignore[arg-type]
    assert claims["sub"] == ref["uri"]  # §5.1: sub = the uri in the Referenced Token
    assert isinstance(claims["iat"], int) and claims["exp"] > claims["iat"] and claims["ttl"] > 0
    bits = claims["status_list"]["bits"]
    assert bits == 2
    raw = zlib.decompress(sdjwt.b64url_decode(claims["status_list"]["lst"]))  # §4.1: DEFLATE, ZLIB format
    per_byte = 8 // bits
    return int((raw[ref["idx"] // per_byte] >> ((ref["idx"] % per_byte) * bits)) & ((1 << bits) - 1))


def issue_card(client: TestClient, wallet: Wallet, seeded: Seeded, batch: int = 1) -> tuple[str, dict[str, Any]]:
    token = wallet.access_token(new_offer(client.app, seeded.technician_id, ["ccus_card"]))  # type: ignore[arg-type]
    _, body = wallet.issue(token["access_token"], "ccus_card", batch=batch)
    return token["access_token"], body


def row_of(issuer: WalletRuntime, credential: str) -> IssuedCredential:
    ref = reference(credential)
    with Session(issuer.engine) as session:
        return session.exec(
            select(IssuedCredential)
            .where(col(IssuedCredential.status_list_id) == ref["uri"].rsplit("/", 1)[1])
            .where(col(IssuedCredential.status_index) == ref["idx"])
        ).one()


def test_a_new_credential_is_valid_in_a_signed_status_list(client: TestClient, seeded: Seeded, wallet: Wallet) -> None:
    """draft-ietf-oauth-status-list §4.1 (2 bits per entry, DEFLATE/ZLIB, base64url ``lst``), §5.1
    (``statuslist+jwt`` with sub, iat, exp, ttl), §6.2 (``status.status_list`` idx/uri in the
    Referenced Token), §7.1 (0x00 VALID)."""
    _, body = issue_card(client, wallet, seeded)
    assert published_status(client, body["credentials"][0]["credential"]) == VALID


def test_revoke_suspend_and_resume_through_the_cli_show_in_the_published_list(
    client: TestClient, seeded: Seeded, wallet: Wallet, issuer: WalletRuntime, cli: CliRunner
) -> None:
    """draft-ietf-oauth-status-list §7.1: 0x01 INVALID (permanent), 0x02 SUSPENDED (temporary, may
    return to VALID); a status change is in the published list at once (the list is rebuilt when a
    status changes, §13.7 leaves caching to ``ttl``)."""
    _, body = issue_card(client, wallet, seeded, batch=2)
    first, second = (item["credential"] for item in body["credentials"])
    first_id, second_id = row_of(issuer, first).id, row_of(issuer, second).id

    assert genba(cli, "credentials", "suspend", "--id", first_id) == {"updated": 1, "status": "suspended"}
    assert published_status(client, first) == SUSPENDED and published_status(client, second) == VALID
    assert genba(cli, "credentials", "resume", "--id", first_id) == {"updated": 1, "status": "valid"}
    assert published_status(client, first) == VALID

    assert genba(cli, "credentials", "revoke", "--id", second_id, "--reason", "card lost") == {
        "updated": 1,
        "status": "revoked",
    }
    assert published_status(client, second) == INVALID
    # A revoked credential stays revoked: resume only lifts suspensions.
    assert genba(cli, "credentials", "resume", "--id", second_id) == {"updated": 0, "status": "valid"}
    assert published_status(client, second) == INVALID
    listed = {c["id"]: c["status"] for c in genba(cli, "credentials", "list", "--technician-id", seeded.technician_id)}
    assert listed == {first_id: "valid", second_id: "revoked"}
    assert row_of(issuer, second).status_reason == "card lost"


def test_set_status_shows_in_the_published_list(
    client: TestClient, seeded: Seeded, wallet: Wallet, issuer: WalletRuntime, clock: FrozenClock
) -> None:
    """draft-ietf-oauth-status-list §7.1 via ``wallet.status.set_status`` (what the CLI and sync use)."""
    _, body = issue_card(client, wallet, seeded)
    credential = body["credentials"][0]["credential"]
    assert published_status(client, credential) == VALID
    for value in (SUSPENDED, VALID, INVALID):
        clock.advance(seconds=1)
        with Session(issuer.engine) as session:
            assert status.set_status(session, [row_of(issuer, credential).id], value, reason="t", now=clock()) == 1
            session.commit()
        assert published_status(client, credential) == value


def _set_certificate_status(issuer: WalletRuntime, number: str, value: str) -> None:
    with Session(issuer.engine) as session:
        row = session.exec(select(Certificate).where(col(Certificate.certificate_number) == number)).one()
        row.status = value
        session.add(row)
        session.commit()


@pytest.mark.parametrize("source_status", ["revoked", "superseded"])
def test_sync_revokes_credentials_of_a_certificate_revoked_at_its_source(
    client: TestClient,
    seeded: Seeded,
    wallet: Wallet,
    issuer: WalletRuntime,
    clock: FrozenClock,
    source_status: str,
) -> None:
    """Issue 6 item 4 / draft-ietf-oauth-status-list §7.1: when connectors' Certificate row becomes
    revoked (or superseded by a reissue), ``wallet.sync.sync`` sets the issued credentials of that
    certificate INVALID; other certificates and the card stay VALID."""
    token = wallet.access_token(new_offer(client.app, seeded.technician_id))["access_token"]  # type: ignore[arg-type]
    gone, kept = seeded.certificates
    _, gone_body = wallet.issue(token, gone.ref, batch=2)
    _, kept_body = wallet.issue(token, kept.ref)
    _, card_body = wallet.issue(token, "ccus_card")
    with Session(issuer.engine) as session:
        assert sync(session, issuer.holders, now=clock()) == {}  # nothing changed at the sources yet
        session.commit()
    _set_certificate_status(issuer, gone.number, source_status)
    clock.advance(seconds=1)
    with Session(issuer.engine) as session:
        counts = sync(session, issuer.holders, now=clock())
        session.commit()
    assert counts == {"revoked": 2}
    for item in gone_body["credentials"]:
        assert published_status(client, item["credential"]) == INVALID
        assert row_of(issuer, item["credential"]).status_reason == f"certificate {source_status} at its source"
    assert published_status(client, kept_body["credentials"][0]["credential"]) == VALID
    assert published_status(client, card_body["credentials"][0]["credential"]) == VALID
    with Session(issuer.engine) as session:  # idempotent: a second run changes nothing
        assert sync(session, issuer.holders, now=clock()) == {}


def test_sync_revokes_the_card_of_a_technician_who_left_the_employer(
    client: TestClient, seeded: Seeded, wallet: Wallet, issuer: WalletRuntime, clock: FrozenClock
) -> None:
    """Issue 6 item 4: the card names the current employer; when the technician leaves (the
    affiliation ends) or moves to another employer, sync revokes the card (§7.1 INVALID)."""
    _, body = issue_card(client, wallet, seeded)
    credential = body["credentials"][0]["credential"]
    with Session(issuer.engine) as session:
        technician = accounts.find_technician(session=session, technician_id=seeded.technician_id)
        assert technician is not None and technician.id is not None
        accounts.end_affiliation(session=session, technician_pk=technician.id, end_date=date(2026, 11, 26))
        session.commit()
    clock.advance(seconds=1)
    with Session(issuer.engine) as session:
        assert sync(session, issuer.holders, now=clock()) == {"revoked": 1}
        session.commit()
    assert published_status(client, credential) == INVALID
    assert row_of(issuer, credential).status_reason == "the technician left the employer on the card"


def test_sync_revokes_the_card_after_a_move_and_the_new_card_stays_valid(
    client: TestClient, seeded: Seeded, wallet: Wallet, issuer: WalletRuntime, clock: FrozenClock
) -> None:
    """Issue 6 item 4: a card naming the old employer is revoked; one issued after the move is not."""
    _, body = issue_card(client, wallet, seeded)
    old = body["credentials"][0]["credential"]
    with Session(issuer.engine) as session:
        accounts.create_employer(
            session=session,
            employer_id=OTHER_EMPLOYER_ID,
            trade_name="有限会社 佐藤鉄筋",
            address="東京都江東区新砂2-3-4",
            phone="03-2345-6789",
            now=clock(),
        )
        accounts.link_affiliation(
            session=session,
            technician_id=seeded.technician_id,
            employer_id=OTHER_EMPLOYER_ID,
            start_date=date(2026, 11, 1),
            now=clock(),
        )
        session.commit()
    clock.advance(seconds=1)
    wallet.now += 1
    _, body = issue_card(client, wallet, seeded)
    new = body["credentials"][0]["credential"]
    with Session(issuer.engine) as session:
        assert sync(session, issuer.holders, now=clock()) == {"revoked": 1}
        session.commit()
    assert published_status(client, old) == INVALID
    assert published_status(client, new) == VALID


def test_notification_credential_deleted_makes_the_credentials_invalid(
    client: TestClient, seeded: Seeded, wallet: Wallet, issuer: WalletRuntime, clock: FrozenClock
) -> None:
    """OpenID4VCI 1.0 §11.1 (``credential_deleted``) and §11.2 (204); every credential of the
    notification_id becomes INVALID (draft-ietf-oauth-status-list §7.1), published within one ``ttl``
    (§13.7); the notification is idempotent (§11)."""
    token, body = issue_card(client, wallet, seeded, batch=2)
    credentials = [item["credential"] for item in body["credentials"]]
    assert all(published_status(client, c) == VALID for c in credentials)
    notification = {"notification_id": body["notification_id"], "event": "credential_deleted"}
    for _ in range(2):
        response = wallet.notify(token, notification)
        assert response.status_code == 204, response.text
    assert all(row_of(issuer, c).status == INVALID for c in credentials)
    clock.advance(seconds=status.TTL.total_seconds())
    assert all(published_status(client, c) == INVALID for c in credentials)


def test_notification_credential_deleted_shows_at_once_like_every_other_status_change(
    client: TestClient, seeded: Seeded, wallet: Wallet, clock: FrozenClock
) -> None:
    """draft-ietf-oauth-status-list §7.1 and StatusPublisher's contract ("rebuilt when statuses
    changed"): the published list reflects a deletion as soon as a revocation through the CLI would
    (the notification endpoint goes through ``wallet.status.set_status``, which bumps the list)."""
    token, body = issue_card(client, wallet, seeded)
    credential = body["credentials"][0]["credential"]
    assert published_status(client, credential) == VALID  # the list is now built and cached
    clock.advance(seconds=1)
    response = wallet.notify(token, {"notification_id": body["notification_id"], "event": "credential_deleted"})
    assert response.status_code == 204
    assert published_status(client, credential) == INVALID


def test_notification_accepted_keeps_credentials_valid_and_bad_notifications_are_refused(
    client: TestClient, seeded: Seeded, wallet: Wallet, issuer: WalletRuntime
) -> None:
    """OpenID4VCI 1.0 §11.1 (credential_accepted, credential_failure) and §11.3: an unknown
    notification_id is ``invalid_notification_id``, a malformed request ``invalid_notification_request``
    (HTTP 400); without an access token, RFC 6750 §3 (401)."""
    token, body = issue_card(client, wallet, seeded)
    credential = body["credentials"][0]["credential"]
    notification_id = body["notification_id"]
    for event in ("credential_accepted", "credential_failure"):
        assert wallet.notify(token, {"notification_id": notification_id, "event": event}).status_code == 204
    assert row_of(issuer, credential).status == VALID
    assert published_status(client, credential) == VALID
    bad = [
        ({"notification_id": "nope", "event": "credential_accepted"}, "invalid_notification_id"),
        ({"notification_id": notification_id, "event": "credential_lost"}, "invalid_notification_request"),
        ({"notification_id": notification_id}, "invalid_notification_request"),
    ]
    for request, error in bad:
        response = wallet.notify(token, request)
        assert response.status_code == 400 and error_of(response) == error, (request, response.text)
    response = client.post("/wallet/notification", json={"notification_id": notification_id, "event": "x"})
    assert response.status_code == 401


def test_another_technicians_token_cannot_delete_my_credentials(
    client: TestClient, seeded: Seeded, wallet: Wallet, issuer: WalletRuntime
) -> None:
    """OpenID4VCI 1.0 §11 ("a valid Access Token issued at the Token Endpoint"): a notification_id
    only counts with a token of the same holder (§11.3 invalid_notification_id otherwise)."""
    from tests.support.web import make_technician

    _, body = issue_card(client, wallet, seeded)
    make_technician(client.app, technician_id="10000000000027", with_totp=False)  # type: ignore[arg-type]
    other = wallet.access_token(new_offer(client.app, "10000000000027", ["ccus_card"]))["access_token"]  # type: ignore[arg-type]
    response = wallet.notify(other, {"notification_id": body["notification_id"], "event": "credential_deleted"})
    assert response.status_code == 400 and error_of(response) == "invalid_notification_id"
    assert row_of(issuer, body["credentials"][0]["credential"]).status == VALID
