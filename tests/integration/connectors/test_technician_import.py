"""The technician-started import (issue 5, item 3: 「マイナポータルから資格を取り込む」) against the
reference source over real HTTP, and the verification of every record (issue 5, item 4), on SQLite
and PostgreSQL.

The flow is the one ``app/certificate_pages.py`` runs: an authorization URL with PKCE (S256) and a
state, sign-in (login + PIN) and consent at the source, the code exchanged by ``MyNaPortalClient``,
``/api/v1/me/certificates`` read, and ``pipeline.import_for_technician`` for the technician
registered in Genba ID (through ``idp.accounts``).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from connectors import pipeline
from connectors.models import TrustEvent
from connectors.ports import SourceError
from connectors.sources.mynaportal.client import MyNaPortalClient
from connectors.verify import ExpectedHolder
from idp.passwords import Passwords
from tests.integration.connectors.conftest import (
    SUZUKI,
    SUZUKI_IMPORTED,
    SUZUKI_REJECTED,
    TAKAHASHI,
    TAKAHASHI_IMPORTED,
    authorize_at_source,
    certificate_rows,
    new_body,
    payload_of,
    quarantine_rows,
    records_of,
    register,
)
from tests.support.clock import FrozenClock
from tests.support.server import SourceServer, cli_env, run_genba

REASONS_JA = {
    "bad_signature": "署名が正しくありません（改ざんの可能性）",
    "unknown_signer": "信頼リストにない機関の署名です",
    "identity_mismatch": "本人の記録ではありません（氏名・生年月日が一致しません）",
    "signer_key_not_valid": "署名鍵が発行時点で有効ではありません",
    "revoked": "この修了証は取り消されています",
}


def run_import(engine: Engine, values: list[str], holder: ExpectedHolder, now: datetime) -> list[pipeline.Outcome]:
    with Session(engine) as session:
        return pipeline.import_for_technician(session, values, holder=holder, source="mynaportal", now=now)


def by_record(values: list[str], outcomes: list[pipeline.Outcome]) -> dict[str, tuple[str, str | None]]:
    """record id (read from each JWS as served) -> (status, code); bad signatures carry no ids."""
    assert len(values) == len(outcomes)
    return {payload_of(v)["record_id"]: (o.status, o.code) for v, o in zip(values, outcomes, strict=True)}


@pytest.fixture
def suzuki(engine: Engine, passwords: Passwords, clock: FrozenClock, trusted: list[str]) -> ExpectedHolder:
    return register(engine, passwords, SUZUKI, now=clock())


def test_technician_started_import_stores_the_good_records_and_quarantines_each_bad_one(
    engine: Engine, mynaportal: MyNaPortalClient, suzuki: ExpectedHolder, clock: FrozenClock
) -> None:
    """Issue 5, item 3 (technician-started import with consent at the source) and item 4 (signature
    by a trusted key valid at issue time, holder identity, revocation): exactly 鈴木 一郎's good
    records are stored; each bad one is quarantined with its reason; the reissue (再交付) TR-000013
    supersedes TR-000012."""
    values = records_of(mynaportal, login="suzuki", pin="1234")
    assert len(values) == 13

    outcomes = run_import(engine, values, suzuki, clock())

    results = by_record(values, outcomes)
    assert {r for r, (status, _) in results.items() if status == "imported"} == set(SUZUKI_IMPORTED)
    assert {r: code for r, (status, code) in results.items() if status == "rejected"} == SUZUKI_REJECTED
    for outcome in outcomes:
        if outcome.status == "rejected":
            assert outcome.code is not None and outcome.reason_ja == REASONS_JA[outcome.code]
            assert outcome.reason_en
    certs = certificate_rows(engine)
    assert set(certs) == set(SUZUKI_IMPORTED)
    assert {c.technician_id for c in certs.values()} == {SUZUKI["technician_id"]}
    assert {c.original for c in certs.values()} == {v for v in values if payload_of(v)["record_id"] in certs}
    assert certs["TR-000001"].certificate_number == "第13-0412号"
    assert certs["TR-000001"].course_name == "玉掛け技能講習" and certs["TR-000001"].completed_on == date(2012, 6, 15)
    old, new = certs["TR-000012"], certs["TR-000013"]
    assert (old.status, old.superseded_by) == ("superseded", new.id)
    assert (new.status, new.superseded_by) == ("valid", None)
    assert {c.status for r, c in certs.items() if r != "TR-000012"} == {"valid"}
    quarantine = quarantine_rows(engine)
    assert sorted(q.reason_code for q in quarantine) == sorted(SUZUKI_REJECTED.values())
    # records that did not verify are still named (from their unverified payload) and tied to the technician
    assert {q.record_id: q.reason_code for q in quarantine} == SUZUKI_REJECTED
    assert all(q.source == "mynaportal" and q.run_id is None for q in quarantine)
    assert {q.technician_id for q in quarantine} == {SUZUKI["technician_id"]}
    assert all(REASONS_JA[q.reason_code] in q.reason for q in quarantine)


def test_importing_twice_keeps_one_certificate_per_record(
    engine: Engine, mynaportal: MyNaPortalClient, suzuki: ExpectedHolder, clock: FrozenClock
) -> None:
    """Issue 5 (idempotent import per issuing body and certificate number): a second consent and
    import reports every good record as already imported and changes no certificate."""
    run_import(engine, records_of(mynaportal, login="suzuki", pin="1234"), suzuki, clock())
    before = {r: (c.id, c.status, c.superseded_by, c.imported_at) for r, c in certificate_rows(engine).items()}
    clock.advance(days=1)

    values = records_of(mynaportal, login="suzuki", pin="1234")
    again = run_import(engine, values, suzuki, clock())

    results = by_record(values, again)
    assert {r for r, (status, _) in results.items() if status == "duplicate"} == set(SUZUKI_IMPORTED)
    assert {r: code for r, (status, code) in results.items() if status == "rejected"} == SUZUKI_REJECTED
    assert {r: (c.id, c.status, c.superseded_by, c.imported_at) for r, c in certificate_rows(engine).items()} == before


def test_old_form_kanji_name_matches_the_registered_new_form(
    engine: Engine, mynaportal: MyNaPortalClient, passwords: Passwords, trusted: list[str], clock: FrozenClock
) -> None:
    """Issue 5, item 4 (name after width/space/old-kanji normalisation): the source's 髙橋　勇 (old
    form, ideographic space) is the technician registered as 高橋 勇."""
    takahashi = register(engine, passwords, TAKAHASHI, now=clock())
    values = records_of(mynaportal, login="takahashi", pin="5678")
    assert {payload_of(v)["holder"]["name"] for v in values} == {"髙橋\u3000勇"}

    outcomes = run_import(engine, values, takahashi, clock())

    assert by_record(values, outcomes) == {r: ("imported", None) for r in TAKAHASHI_IMPORTED}
    assert {c.technician_id for c in certificate_rows(engine).values()} == {TAKAHASHI["technician_id"]}


def test_a_technician_with_another_birth_date_gets_identity_mismatch(
    engine: Engine, mynaportal: MyNaPortalClient, passwords: Passwords, trusted: list[str], clock: FrozenClock
) -> None:
    """Issue 5, item 4 (holder is the technician: name *and* birth date): registered as 鈴木 一郎 born
    1985-04-13, none of the records born 1985-04-12 is imported; the ones whose signature and key
    are fine are refused as identity_mismatch."""
    other = register(engine, passwords, SUZUKI, now=clock(), birth="1985-04-13")
    values = records_of(mynaportal, login="suzuki", pin="1234")

    outcomes = run_import(engine, values, other, clock())

    signature_problems = {r: c for r, c in SUZUKI_REJECTED.items() if c != "identity_mismatch" and c != "revoked"}
    expected = {payload_of(v)["record_id"]: ("rejected", "identity_mismatch") for v in values}
    expected |= {r: ("rejected", c) for r, c in signature_problems.items()}
    assert by_record(values, outcomes) == expected
    assert certificate_rows(engine) == {}


def test_declining_at_the_source_gives_no_code(mynaportal: MyNaPortalClient) -> None:
    """Issue 5, item 3 (consent at the source): 「提供しない」 sends the technician back with
    access_denied and no code; nothing can be fetched."""
    grant = authorize_at_source(mynaportal, login="suzuki", pin="1234", decision="deny")

    assert grant.code == ""


def test_code_exchange_needs_the_pkce_verifier_and_works_once(mynaportal: MyNaPortalClient) -> None:
    """Issue 5, item 3 (authorization code flow with PKCE, RFC 7636): a wrong verifier is refused,
    and a code is single use (RFC 6749 §4.1.2)."""
    grant = authorize_at_source(mynaportal, login="suzuki", pin="1234")
    with pytest.raises(SourceError, match="invalid_grant"):
        mynaportal.exchange(code=grant.code, verifier="x" * 64, redirect_uri=grant.redirect_uri)
    with pytest.raises(SourceError, match="invalid_grant"):  # the failed attempt used the code up
        mynaportal.exchange(code=grant.code, verifier=grant.verifier, redirect_uri=grant.redirect_uri)

    fresh = authorize_at_source(mynaportal, login="suzuki", pin="1234")
    token = mynaportal.exchange(code=fresh.code, verifier=fresh.verifier, redirect_uri=fresh.redirect_uri)
    assert len(mynaportal.my_records(token)) == 13
    with pytest.raises(SourceError, match="invalid_grant"):
        mynaportal.exchange(code=fresh.code, verifier=fresh.verifier, redirect_uri=fresh.redirect_uri)


def test_trust_removal_refuses_the_next_import_and_every_trust_change_is_audited(
    engine: Engine,
    db: Session,
    mynaportal: MyNaPortalClient,
    source: SourceServer,
    passwords: Passwords,
    clock: FrozenClock,
    db_url: str,
    tmp_path: Path,
) -> None:
    """Issue 5 (trust list of issuing bodies, every change audited) and item 4 (unknown signers are
    refused): the trust list is loaded with the real ``genba trust import-source``; after ``genba
    trust remove --issuer-id`` the body's records are refused as unknown_signer, and TrustEvent rows
    record each key added and the removal, with who did it."""
    env = cli_env(db_url, tmp_path, outbound_allow_private="true")  # the source is on 127.0.0.1 (hole 6)
    added = json.loads(run_genba(env, tmp_path, "trust", "import-source", source.base_url, "--json").stdout)
    assert len(added) == 6 and len({a["issuer_id"] for a in added}) == 5
    holder = register(engine, passwords, SUZUKI, now=clock())
    first = run_import(engine, records_of(mynaportal, login="suzuki", pin="1234"), holder, clock())
    assert sum(o.status == "imported" for o in first) == len(SUZUKI_IMPORTED)

    body = "jp.tokyo-kensetsu-gino"  # signed TR-000001 (good) and TR-000007 (altered)
    removed = json.loads(run_genba(env, tmp_path, "trust", "remove", "--issuer-id", body, "--json").stdout)
    assert removed == {"issuer_id": body, "removed_keys": 1}
    values = records_of(mynaportal, login="suzuki", pin="1234")
    second = run_import(engine, values, holder, clock())

    results = by_record(values, second)
    assert results["TR-000001"] == ("rejected", "unknown_signer")
    assert results["TR-000007"] == ("rejected", "unknown_signer")
    assert {r for r, (status, _) in results.items() if status == "duplicate"} == set(SUZUKI_IMPORTED) - {"TR-000001"}
    listing = json.loads(run_genba(env, tmp_path, "trust", "list", "--json").stdout)
    assert {row["issuer_id"]: row["removed"] for row in listing if row["issuer_id"] == body} == {body: True}
    assert sum(not row["removed"] for row in listing) == 5
    events = db.exec(select(TrustEvent).order_by(col(TrustEvent.id))).all()
    assert [(e.action, e.actor) for e in events] == [("add", f"import:{source.base_url}")] * 6 + [("remove", "cli")]
    assert {(e.issuer_id, e.kid) for e in events[:6]} == {(a["issuer_id"], a["kid"]) for a in added}
    assert (events[6].issuer_id, events[6].kid, events[6].detail) == (body, None, {"keys": "1"})
    crane = [e for e in events if e.issuer_id == "jp.nihon-crane-kenshu"]
    assert sorted(e.detail["valid_until"] for e in crane) == ["2023-04-01 00:00:00+09:00", "None"]
    crane_keys = sorted(str(row["valid_until"]) for row in listing if row["issuer_id"] == "jp.nihon-crane-kenshu")
    assert crane_keys == ["2023-03-31T15:00:00+00:00", "None"]  # the old key's end, 2023-04-01 00:00 JST, in UTC


ISSUED_2022 = int(datetime(2022, 4, 1, tzinfo=UTC).timestamp())  # inside body A's key validity
OTHER_TECHNICIAN = {"name": "鈴木 一郎", "birth_date": "1985-04-12", "technician_id": "10000000000027"}
CHECKS = {
    "issued-in-future": ({"iat": int(datetime(2026, 11, 27, 1, 10, tzinfo=UTC).timestamp())}, "future_date"),
    "completed-in-future": ({"completed_on": "2026-11-28"}, "future_date"),
    "issuer-mismatch": ({"iss": "jp.test-body-b"}, "issuer_mismatch"),  # body A signs in body B's name
    "other-technician-id": ({"holder": OTHER_TECHNICIAN}, "identity_mismatch"),
    "unknown-course-kind": ({"course_kind": "講習会"}, "malformed"),
    "impossible-date": ({"completed_on": "2024-02-30"}, "malformed"),
    "at-valid-until": ({"iat": int(datetime(2023, 4, 1, tzinfo=UTC).timestamp())}, "signer_key_not_valid"),
    "before-valid-from": ({"iat": int(datetime(2020, 3, 31, 23, 59, tzinfo=UTC).timestamp())}, "signer_key_not_valid"),
}


# -- records signed here by test bodies (what the reference source does not serve) --------------------


@pytest.fixture
def holder(engine: Engine, db: Session, passwords: Passwords, clock: FrozenClock) -> ExpectedHolder:
    return register(engine, passwords, SUZUKI, now=clock())


def test_same_certificate_number_from_two_bodies_gives_two_certificates(
    engine: Engine, holder: ExpectedHolder, clock: FrozenClock
) -> None:
    """Issue 5 (certificate numbers are unique per issuing body, not globally): 第01-0001号 from two
    different bodies are two certificates; the same number again from the first body is a duplicate."""
    a, b = new_body("jp.test-body-a", "試験講習所A"), new_body("jp.test-body-b", "試験講習所B")
    a.trust(engine, now=clock())
    b.trust(engine, now=clock())
    values = [
        a.sign_record(record_id="A-1", certificate_number="第01-0001号"),
        b.sign_record(record_id="B-1", certificate_number="第01-0001号", course_name="ガス溶接技能講習"),
        a.sign_record(record_id="A-2", certificate_number="第０１－０００１号"),  # the same number, full width
    ]

    outcomes = run_import(engine, values, holder, clock())

    assert [o.status for o in outcomes] == ["imported", "imported", "duplicate"]
    certs = certificate_rows(engine)
    assert {(c.issuer_id, c.certificate_number) for c in certs.values()} == {
        ("jp.test-body-a", "第01-0001号"),
        ("jp.test-body-b", "第01-0001号"),
    }


def test_a_signed_revocation_revokes_the_imported_certificate(
    engine: Engine, holder: ExpectedHolder, clock: FrozenClock
) -> None:
    """Issue 5, item 4 (the certificate is not revoked): a later record from the issuing body with
    status revoked is quarantined and marks the already imported certificate revoked."""
    body = new_body("jp.test-body-a", "試験講習所A")
    body.trust(engine, now=clock())
    run_import(engine, [body.sign_record(record_id="A-1")], holder, clock())
    later = int(datetime(2025, 6, 1, tzinfo=UTC).timestamp())

    [outcome] = run_import(engine, [body.sign_record(record_id="A-1r", status="revoked", iat=later)], holder, clock())

    assert (outcome.status, outcome.code) == ("rejected", "revoked")
    assert certificate_rows(engine)["A-1"].status == "revoked"


@pytest.mark.parametrize(("claims", "code"), list(CHECKS.values()), ids=list(CHECKS))
def test_each_failed_check_is_a_rejection_with_its_code(
    engine: Engine, holder: ExpectedHolder, clock: FrozenClock, claims: dict[str, object], code: str
) -> None:
    """Issue 5, item 4: the issue time is not in the future (5 minutes' skew), dates are plausible,
    the signer is the issuing body, the holder is this technician, the signing key was valid at the
    issue time (valid_from <= iat < valid_until); each failure is quarantined, never imported."""
    a, b = new_body("jp.test-body-a", "試験講習所A"), new_body("jp.test-body-b", "試験講習所B")
    validity = {"valid_from": datetime(2020, 4, 1, tzinfo=UTC), "valid_until": datetime(2023, 4, 1, tzinfo=UTC)}
    a.trust(engine, now=clock(), **validity)
    b.trust(engine, now=clock())
    good = a.sign_record(record_id="A-ok", iat=ISSUED_2022, certificate_number="第01-0002号")
    bad = a.sign_record(record_id="A-bad", **({"iat": ISSUED_2022} | claims))

    outcomes = run_import(engine, [good, bad], holder, clock())

    assert [(o.status, o.code) for o in outcomes] == [("imported", None), ("rejected", code)]
    assert set(certificate_rows(engine)) == {"A-ok"}
    assert [q.reason_code for q in quarantine_rows(engine)] == [code]


def test_a_record_just_inside_the_clock_skew_is_accepted(
    engine: Engine, holder: ExpectedHolder, clock: FrozenClock
) -> None:
    """Issue 5, item 4: an issue time up to 5 minutes ahead of Genba ID's clock is the source's clock
    running fast, not a future record."""
    body = new_body("jp.test-body-a", "試験講習所A")
    body.trust(engine, now=clock())
    iat = int((clock() + timedelta(minutes=4)).timestamp())

    [outcome] = run_import(
        engine, [body.sign_record(record_id="A-1", iat=iat, completed_on="2026-11-20")], holder, clock()
    )

    assert outcome.status == "imported"


@pytest.mark.parametrize("together", [True, False], ids=["same-import", "later-import"])
def test_a_reissue_listed_before_the_certificate_it_replaces_still_supersedes_it(
    engine: Engine, holder: ExpectedHolder, clock: FrozenClock, together: bool
) -> None:
    """Issue 5 (a reissued certificate supersedes the old one), whatever the order the records come in."""
    body = new_body("jp.test-body-a", "試験講習所A")
    body.trust(engine, now=clock())
    old = body.sign_record(record_id="A-old", certificate_number="第01-0001号")
    new = body.sign_record(
        record_id="A-new",
        certificate_number="第01-0002号",
        supersedes="第01-0001号",
        iat=int(datetime(2025, 1, 14, tzinfo=UTC).timestamp()),
    )

    if together:
        run_import(engine, [new, old], holder, clock())
    else:
        run_import(engine, [new], holder, clock())
        run_import(engine, [old], holder, clock())

    certs = certificate_rows(engine)
    assert (certs["A-new"].status, certs["A-new"].superseded_by) == ("valid", None)
    assert (certs["A-old"].status, certs["A-old"].superseded_by) == ("superseded", certs["A-new"].id)
