"""Storing a page of records at once (issue 14, bulk import per CPU-second: "brought to their goals
without weakening a check") applies the storing rules of issue 5 exactly as one record at a time:
idempotent per (issuing body, certificate number), a reissue supersedes the certificate it replaces
whichever arrives first and only for the same technician, a signed revocation revokes an imported
certificate, every rejection quarantined with its reason. On SQLite and PostgreSQL.

The records here are already verified (``connectors.pipeline.store_batch`` takes what
``pipeline.read`` gives), so the test is about the rules and their batching, not about signatures.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from joserfc.jwk import ECKey
from sqlalchemy import Engine
from sqlmodel import Session

from connectors import pipeline, trust
from connectors.records import CertificateRecord, Holder
from connectors.verify import ExpectedHolder
from tests.integration.connectors.conftest import EndState, end_state, forget_imports
from tests.support.clock import FrozenClock

BODY = "body-a"
ALICE = ExpectedHolder("10000000000019", "鈴木 一郎", date(1985, 4, 12))
BOB = ExpectedHolder("10000000000027", "高橋 勇", date(1990, 7, 7))


def record(number: str, holder: ExpectedHolder, *, supersedes: str | None = None, status: str = "valid") -> Read:
    return CertificateRecord(
        source="test",
        record_id=f"rec-{number}-{status}",
        issuer_id=BODY,
        signer_kid="kid-a",
        issued_at=datetime(2024, 1, 1, tzinfo=UTC),
        certificate_number=number,
        course_kind="技能講習",
        course_code="C1",
        course_name="玉掛け技能講習",
        training_body="テスト教習所",
        completed_on=date(2024, 1, 1),
        holder=Holder(holder.name, None, holder.birth_date, holder.technician_id),
        status=status,
        supersedes=supersedes,
        original=f"signed-{number}-{status}",
    )


Read = pipeline.Read
SIGNER = trust.TrustedSigner(BODY, "テスト教習所", "kid-a", ECKey.generate_key("P-256"), None, None, frozenset({"C1"}))

#: one page of records, in the order a source lists them
PAGE = [
    record("N1", ALICE),
    record("N2", ALICE, supersedes="N1"),  # reissue after the certificate it replaces
    record("N4", ALICE, supersedes="N3"),  # reissue before the certificate it replaces
    record("N3", ALICE),
    record("N1", ALICE),  # the same certificate again
    record("N5", ALICE),
    record("N5", ALICE, status="revoked"),  # a signed revocation of one just imported
    record("N6", BOB),
    record("N7", ALICE, supersedes="N6"),  # another technician's certificate: not replaced
    record("N8", ALICE, status="revoked"),  # a revocation of nothing imported
]


def store(engine: Engine, pages: Sequence[Sequence[Read]], clock: FrozenClock) -> list[pipeline.Outcome]:
    holders = {h.technician_id: h for h in (ALICE, BOB)}
    outcomes: list[pipeline.Outcome] = []
    for page in pages:
        with Session(engine) as session:
            outcomes += pipeline.store_batch(
                session,
                [(item, clock()) for item in page],
                signer_of=lambda _r: SIGNER,
                expected_of=lambda r: holders.get(r.holder.technician_id or ""),
                source="test",
                run_id=None,
            )
            session.commit()
    return outcomes


def both_ways(engine: Engine, clock: FrozenClock) -> tuple[list[pipeline.Outcome], EndState]:
    """The page stored one record at a time and at once: the same outcomes and the same end state."""
    one_by_one = store(engine, [[item] for item in PAGE], clock)
    expected = end_state(engine)
    forget_imports(engine)
    at_once = store(engine, [PAGE], clock)
    assert at_once == one_by_one
    assert end_state(engine) == expected
    return at_once, expected


def test_a_page_stored_at_once_follows_the_rules_of_one_record_at_a_time(
    engine: Engine, db: Session, clock: FrozenClock
) -> None:
    """Issue 5 (idempotent import, reissue supersedes whichever arrives first, signed revocation)
    and issue 14 (per page, not per record): the same outcomes and rows either way, and the rules'
    results as they are stated."""
    outcomes, state = both_ways(engine, clock)

    assert [o.status for o in outcomes] == [
        "imported",
        "imported",
        "imported",
        "imported",
        "duplicate",
        "imported",
        "rejected",
        "imported",
        "imported",
        "rejected",
    ]
    status = {row[1]: (row[2], row[4], row[5]) for row in state.certificates}
    assert status == {
        "N1": (ALICE.technician_id, "superseded", "N2"),
        "N2": (ALICE.technician_id, "valid", ""),
        "N3": (ALICE.technician_id, "superseded", "N4"),
        "N4": (ALICE.technician_id, "valid", ""),
        "N5": (ALICE.technician_id, "revoked", ""),
        "N6": (BOB.technician_id, "valid", ""),
        "N7": (ALICE.technician_id, "valid", ""),
    }
    assert state.reasons == {"revoked": 2}


def test_a_page_after_an_earlier_one_sees_what_it_stored(engine: Engine, db: Session, clock: FrozenClock) -> None:
    """Issue 5 (a later run finds duplicates; a reissue in a later page supersedes a stored
    certificate, and a stored reissue supersedes a certificate that arrives later; a revocation
    revokes a stored certificate): the second page's look-ups find the first page's rows."""
    first = [record("M1", ALICE), record("M4", ALICE, supersedes="M3"), record("M5", ALICE)]
    second = [
        record("M2", ALICE, supersedes="M1"),
        record("M3", ALICE),
        record("M1", ALICE),
        record("M5", ALICE, status="revoked"),
    ]
    outcomes = store(engine, [first, second], clock)

    assert [o.status for o in outcomes] == ["imported"] * 5 + ["duplicate", "rejected"]
    status = {row[1]: (row[4], row[5]) for row in end_state(engine).certificates}
    assert status == {
        "M1": ("superseded", "M2"),
        "M2": ("valid", ""),
        "M3": ("superseded", "M4"),
        "M4": ("valid", ""),
        "M5": ("revoked", ""),
    }
