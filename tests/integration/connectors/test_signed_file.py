"""A training body's signed file (JSON or CSV; UTF-8, UTF-8 with BOM or Shift_JIS) with a detached
JWS over its exact bytes (issue 5: the signed-file source, and item 4: every record verified before
import). The reader is pure; the imports run on SQLite and PostgreSQL.

Signatures are made with ``connectors.sources.signed_file.reader.sign`` and a key generated here
and added to the trust list.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import ECKey
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.holders import RegisteredHolders
from connectors import pipeline
from connectors.models import Certificate, Quarantine, TrustEvent
from connectors.sources.signed_file import reader
from connectors.trust import TrustedSigner, TrustError
from connectors.verify import Rejection
from tests.integration.connectors.conftest import SUZUKI, TAKAHASHI, insert_technicians, new_body
from tests.support.clock import FrozenClock
from tests.support.server import cli_env, run_genba

BODY = new_body("jp.test-file-body", "一般社団法人 試験講習センター")
STRANGER = new_body("jp.unknown-file-body", "合同会社 無名講習所")
IAT = int(datetime(2026, 11, 1, 9, tzinfo=UTC).timestamp())


def row(record_id: str, number: str, **fields: str) -> dict[str, str]:
    return {
        "record_id": record_id,
        "certificate_number": number,
        "course_kind": "技能講習",
        "course_code": "tamakake",
        "course_name": "玉掛け技能講習",
        "completed_on": "2019-08-20",
        "holder_name": "鈴木 一郎",
        "holder_kana": "スズキ イチロウ",
        "holder_birth_date": "1985-04-12",
        "technician_id": "10000000000019",
        "status": "valid",
        "supersedes": "",
    } | fields


ROWS = [
    row("F-1", "第41-1001号"),
    row("F-2", "第41-1002号", course_kind="特別教育", course_code="ashiba", course_name="足場の組立て等特別教育"),
    row(
        "F-3",
        "第41-1003号",
        holder_name="髙橋\u3000勇",  # old form and an ideographic space, in Shift_JIS too
        holder_kana="タカハシ イサム",
        holder_birth_date="1990-07-07",
        technician_id="10000000000027",
        course_name="山﨑式 フォークリフト運転技能講習",
    ),
]


def as_csv(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(reader.CSV_FIELDS), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def encode(rows: list[dict[str, Any]], form: str) -> bytes:
    """``json-utf-8``, ``json-utf-8-bom``, ``csv-utf-8``, ``csv-utf-8-bom`` or ``csv-cp932``."""
    kind, _, encoding = form.partition("-")
    text = json.dumps(rows, ensure_ascii=False, indent=1) if kind == "json" else as_csv(rows)
    if encoding == "utf-8-bom":
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    return text.encode(encoding)


def signers(*bodies: Any) -> dict[str, TrustedSigner]:
    return {b.kid: TrustedSigner(b.issuer_id, b.name, b.kid, ECKey.import_key(b.key.as_dict(private=False)), None, None)
            for b in bodies}  # fmt: skip


@pytest.fixture
def registered(engine: Engine, db: Session, clock: FrozenClock, password_hash: str) -> RegisteredHolders:
    """鈴木 一郎 and 高橋 勇 (registered with the new form), and the test body in the trust list."""
    people = [
        {"technician_id": p["technician_id"], "name": p["name"], "name_kana": p["kana"], "birth_date": p["birth"]}
        for p in (SUZUKI, TAKAHASHI)
    ]
    insert_technicians(engine, people, password_hash=password_hash, now=clock())
    BODY.trust(engine, now=clock())
    return RegisteredHolders(engine)


def import_file(
    engine: Engine, content: bytes, signature: str, holders: RegisteredHolders, now: datetime
) -> list[pipeline.Outcome]:
    with Session(engine) as session:
        return pipeline.import_signed_file(session, content, signature, holders=holders, now=now)


def stored(engine: Engine) -> dict[str, Certificate]:
    with Session(engine) as session:
        return {c.record_id: c for c in session.exec(select(Certificate)).all()}


def quarantined(engine: Engine) -> list[Quarantine]:
    with Session(engine) as session:
        return list(session.exec(select(Quarantine)).all())


# -- the reader (pure) ---------------------------------------------------------------------------------

FORMS = ["json-utf-8", "json-utf-8-bom", "csv-utf-8", "csv-utf-8-bom", "csv-cp932"]


@pytest.mark.parametrize("form", FORMS)
def test_reader_reads_json_and_csv_in_utf8_with_or_without_bom_and_shift_jis(form: str) -> None:
    """Issue 5, signed-file source: JSON or CSV, UTF-8 (BOM allowed) or Shift_JIS (cp932, as Excel
    writes it); the detached signature covers the bytes as received."""
    content = encode(ROWS, form)
    signature = reader.sign(content, BODY.key, kid=BODY.kid, iat=IAT)

    signed = reader.read(content, signature, signers(BODY))

    assert not isinstance(signed, Rejection), signed
    assert signed.rows == ROWS
    assert signed.encoding == ("cp932" if form.endswith("cp932") else "utf-8-sig")
    assert signed.signer.issuer_id == BODY.issuer_id
    assert signed.issued_at == datetime.fromtimestamp(IAT, tz=UTC)
    if form == "csv-cp932":
        assert "髙橋".encode("cp932") in content and "山﨑".encode("cp932") in content


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda c, s: (c.replace(b"2019-08-20", b"2018-08-20", 1), s), "bad_signature"),  # altered bytes
        (lambda c, s: (c + b"\n", s), "bad_signature"),  # one byte appended
        (lambda c, s: (c, reader.sign(c, STRANGER.key, kid=STRANGER.kid, iat=IAT)), "unknown_signer"),
        (lambda c, s: (c, "not a signature"), "malformed"),
        (lambda c, s: (c, s.replace("..", ".e30.")), "bad_signature"),  # an attached payload instead
    ],
    ids=["altered-byte", "appended-byte", "unknown-key", "garbage-signature", "attached-payload"],
)
def test_reader_refuses_the_whole_file_when_its_signature_fails(change: Any, code: str) -> None:
    """Issue 5, item 4 (the signature is valid, by a key in the trust list): a signature over other
    bytes, or by a key not in the trust list, refuses the whole file."""
    content = encode(ROWS, "csv-utf-8")
    content, signature = change(content, reader.sign(content, BODY.key, kid=BODY.kid, iat=IAT))

    result = reader.read(content, signature, signers(BODY))

    assert isinstance(result, Rejection) and result.code == code, result


@pytest.mark.parametrize(
    "content",
    [b'[{"record_id": "F-1", ', b"[1, 2, 3]", b'{"record_id": "F-1"}', b"\xff\xfe\x00garbage"],
    ids=["truncated-json", "json-array-of-numbers", "json-object-not-array", "neither-utf8-nor-sjis"],
)
def test_reader_refuses_a_correctly_signed_file_it_cannot_read(content: bytes) -> None:
    """Issue 5, signed-file source: malformed JSON (or an undecodable file) has no records to check one
    by one, so the whole file is refused as malformed even though its signature is good."""
    signature = reader.sign(content, BODY.key, kid=BODY.kid, iat=IAT)

    result = reader.read(content, signature, signers(BODY))

    assert isinstance(result, Rejection) and result.code == "malformed", result


# -- importing a file (SQLite and PostgreSQL) ------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
def test_signed_file_import_stores_every_good_row(
    engine: Engine, registered: RegisteredHolders, clock: FrozenClock, form: str
) -> None:
    """Issue 5, signed-file source and item 4: each row verified against the registered technician;
    髙橋　勇 in the file is 高橋 勇 in Genba ID; the certificate keeps the file's digest and signature."""
    content = encode(ROWS, form)
    signature = reader.sign(content, BODY.key, kid=BODY.kid, iat=IAT)

    outcomes = import_file(engine, content, signature, registered, clock())

    assert [(o.status, o.record_id) for o in outcomes] == [("imported", r["record_id"]) for r in ROWS]
    certs = stored(engine)
    assert {k: (c.technician_id, c.certificate_number, c.issuer_id) for k, c in certs.items()} == {
        "F-1": ("10000000000019", "第41-1001号", BODY.issuer_id),
        "F-2": ("10000000000019", "第41-1002号", BODY.issuer_id),
        "F-3": ("10000000000027", "第41-1003号", BODY.issuer_id),
    }
    assert certs["F-3"].holder_name == "髙橋 勇"  # as signed, after NFKC (the ideographic space is widened)
    assert certs["F-2"].course_kind == "特別教育"
    assert certs["F-1"].training_body == BODY.name and certs["F-1"].signer_kid == BODY.kid
    original = json.loads(certs["F-1"].original)
    assert original["signature"] == signature and original["row"] == 0
    assert quarantined(engine) == []


def test_full_width_digits_in_dates_ids_and_numbers_are_normalised(
    engine: Engine, registered: RegisteredHolders, clock: FrozenClock
) -> None:
    """Issue 5, signed-file source: full-width digits (and the full-width hyphen) in dates, the
    技能者ID and the certificate number are read as their ASCII forms (NFKC)."""
    wide = row(
        "F-9",
        "第４１－２００９号",
        completed_on="２０１９－０８－２０",
        holder_birth_date="１９８５－０４－１２",
        technician_id="１０００ ００００ ０００ ０１９",
    )
    content = encode([wide], "csv-cp932")
    signature = reader.sign(content, BODY.key, kid=BODY.kid, iat=IAT)

    outcomes = import_file(engine, content, signature, registered, clock())

    assert [(o.status, o.certificate_number) for o in outcomes] == [("imported", "第41-2009号")], outcomes
    cert = stored(engine)["F-9"]
    assert cert.technician_id == "10000000000019"
    assert cert.completed_on == date(2019, 8, 20) and cert.holder_birth_date == date(1985, 4, 12)


def test_altered_file_is_refused_whole_and_quarantined_once(
    engine: Engine, registered: RegisteredHolders, clock: FrozenClock
) -> None:
    """Issue 5, item 4: one altered byte (a 2019 completion made 2018) and nothing of the file is
    imported; the refusal is quarantined with its reason."""
    content = encode(ROWS, "json-utf-8")
    signature = reader.sign(content, BODY.key, kid=BODY.kid, iat=IAT)
    altered = content.replace(b"2019-08-20", b"2018-08-20", 1)

    outcomes = import_file(engine, altered, signature, registered, clock())

    assert [(o.status, o.code) for o in outcomes] == [("rejected", "bad_signature")]
    assert outcomes[0].reason_ja == "署名が正しくありません（改ざんの可能性）"
    assert stored(engine) == {}
    [row_] = quarantined(engine)
    assert (row_.reason_code, row_.source, row_.original) == ("bad_signature", "signed-file", signature)


def test_file_signed_by_an_unknown_key_is_refused(
    engine: Engine, registered: RegisteredHolders, clock: FrozenClock
) -> None:
    """Issue 5, item 4: unknown signers are refused (the key is not in the trust list)."""
    content = encode(ROWS, "csv-utf-8")
    signature = reader.sign(content, STRANGER.key, kid=STRANGER.kid, iat=IAT)

    outcomes = import_file(engine, content, signature, registered, clock())

    assert [(o.status, o.code) for o in outcomes] == [("rejected", "unknown_signer")]
    assert stored(engine) == {}
    assert [q.reason_code for q in quarantined(engine)] == ["unknown_signer"]


def test_malformed_json_is_refused_as_malformed(
    engine: Engine, registered: RegisteredHolders, clock: FrozenClock
) -> None:
    """Issue 5, signed-file source: a correctly signed but unparseable JSON file imports nothing."""
    content = encode(ROWS, "json-utf-8")[:-40]
    signature = reader.sign(content, BODY.key, kid=BODY.kid, iat=IAT)

    outcomes = import_file(engine, content, signature, registered, clock())

    assert [(o.status, o.code) for o in outcomes] == [("rejected", "malformed")]
    assert stored(engine) == {}


def test_missing_fields_and_future_dates_are_per_record_errors(
    engine: Engine, registered: RegisteredHolders, clock: FrozenClock
) -> None:
    """Issue 5, item 4 (dates are plausible) and the signed-file source: a row with a missing field,
    an unreadable date, a completion in the future, an unregistered or absent 技能者ID, or another
    person's birth date is refused on its own; the good rows of the same file are imported."""
    tomorrow = (clock().date() + timedelta(days=1)).isoformat()
    rows = [
        row("G-1", "第41-3001号"),
        {k: v for k, v in row("G-2", "第41-3002号").items() if k != "course_name"},
        row("G-3", "第41-3003号", holder_birth_date=""),
        row("G-4", "第41-3004号", completed_on=tomorrow),
        row("G-5", "第41-3005号", completed_on="2019/08/20"),
        row("G-6", "第41-3006号", technician_id="19999999999999"),
        row("G-7", "第41-3007号", technician_id=""),
        row("G-8", "第41-3008号", holder_birth_date="1985-04-13"),
        row("G-9", "第41-3009号", course_kind="講習"),
        row("G-10", "第41-3010号", course_code="ashiba", course_name="足場の組立て等特別教育", course_kind="特別教育"),
    ]
    content = json.dumps(rows, ensure_ascii=False).encode()
    signature = reader.sign(content, BODY.key, kid=BODY.kid, iat=IAT)

    outcomes = import_file(engine, content, signature, registered, clock())

    got = [(o.status, o.code) for o in outcomes]
    assert got == [
        ("imported", None),
        ("rejected", "malformed"),
        ("rejected", "malformed"),
        ("rejected", "future_date"),
        ("rejected", "malformed"),
        ("rejected", "unknown_holder"),
        ("rejected", "unknown_holder"),
        ("rejected", "identity_mismatch"),
        ("rejected", "malformed"),
        ("imported", None),
    ]
    assert "course_name" in (outcomes[1].reason_en or "") and "行 2" in (outcomes[1].reason_ja or "")
    assert "holder_birth_date" in (outcomes[2].reason_en or "")
    assert outcomes[3].reason_ja == "日付が未来になっています"
    assert set(stored(engine)) == {"G-1", "G-10"}
    assert sorted(q.reason_code for q in quarantined(engine)) == sorted(str(c) for s, c in got if s == "rejected")


def test_file_signed_in_the_future_is_refused_record_by_record(
    engine: Engine, registered: RegisteredHolders, clock: FrozenClock
) -> None:
    """Issue 5, item 4 (the issue time is not in the future): a file whose signature says it was made
    tomorrow imports none of its records, each refused with future_date."""
    content = encode(ROWS, "csv-utf-8")
    tomorrow = int((clock() + timedelta(days=1)).timestamp())
    signature = reader.sign(content, BODY.key, kid=BODY.kid, iat=tomorrow)

    outcomes = import_file(engine, content, signature, registered, clock())

    assert [(o.status, o.code) for o in outcomes] == [("rejected", "future_date")] * len(ROWS)
    assert stored(engine) == {}


def test_importing_the_same_file_twice_stores_each_certificate_once(
    engine: Engine, registered: RegisteredHolders, clock: FrozenClock
) -> None:
    """Issue 5: imports are idempotent per (issuing body, certificate number), whatever the encoding
    the body sends the second time."""
    first = encode(ROWS, "csv-cp932")
    second = encode(ROWS, "json-utf-8-bom")
    import_file(engine, first, reader.sign(first, BODY.key, kid=BODY.kid, iat=IAT), registered, clock())
    before = {k: (c.id, c.imported_at) for k, c in stored(engine).items()}

    again = import_file(engine, second, reader.sign(second, BODY.key, kid=BODY.kid, iat=IAT), registered, clock())

    assert [o.status for o in again] == ["duplicate"] * len(ROWS)
    assert {k: (c.id, c.imported_at) for k, c in stored(engine).items()} == before


@pytest.mark.parametrize(
    "overrides",
    [{"completed_on": "9" * 400}, {"certificate_number": "第41-" + "9" * 150 + "号"}, {"record_id": "R" * 250}],
    ids=["long-bad-date", "long-certificate-number", "long-record-id"],
)
def test_a_row_with_an_overlong_value_does_not_abort_the_file(
    engine: Engine,
    registered: RegisteredHolders,
    clock: FrozenClock,
    overrides: dict[str, str],
    request: pytest.FixtureRequest,
) -> None:
    """Issue 5, item 4 (anything that fails becomes a per-record rejection): a row with a value longer
    than any real one gets its own outcome (stored, or refused as malformed) and the file's good row
    is imported; the import never fails as a whole because of one row."""
    rows = [row("L-1", "第41-4001号"), row("L-2", "第41-4002号") | overrides]
    content = json.dumps(rows, ensure_ascii=False).encode()
    signature = reader.sign(content, BODY.key, kid=BODY.kid, iat=IAT)

    outcomes = import_file(engine, content, signature, registered, clock())

    assert outcomes[0].status == "imported"
    assert outcomes[1].status == "imported" or outcomes[1].code == "malformed", outcomes[1]
    if "completed_on" in overrides:
        assert outcomes[1].code == "malformed"
    assert len(stored(engine)) == sum(o.status == "imported" for o in outcomes)
    assert len(quarantined(engine)) == sum(o.status == "rejected" for o in outcomes)


def test_genba_connectors_import_signed_file_cli(
    engine: Engine, registered: RegisteredHolders, db_url: str, tmp_path: Path
) -> None:
    """Issue 5, signed-file source through the real CLI: ``genba connectors import signed-file --file
    --signature --json`` prints the per-record report and stores the good rows."""
    rows = [*ROWS, row("C-4", "第41-5004号", holder_birth_date="1985-04-13")]
    content = encode(rows, "csv-cp932")
    (tmp_path / "records.csv").write_bytes(content)
    (tmp_path / "records.jws").write_text(reader.sign(content, BODY.key, kid=BODY.kid, iat=IAT) + "\n")

    done = run_genba(
        cli_env(db_url, tmp_path),
        tmp_path,
        *("connectors", "import", "signed-file", "--file", "records.csv", "--signature", "records.jws", "--json"),
    )

    report = json.loads(done.stdout)
    assert report["counts"] == {"imported": 3, "rejected": 1}
    assert [(r["record_id"], r["status"], r["code"]) for r in report["records"]] == [
        ("F-1", "imported", None),
        ("F-2", "imported", None),
        ("F-3", "imported", None),
        ("C-4", "rejected", "identity_mismatch"),
    ]
    assert set(stored(engine)) == {"F-1", "F-2", "F-3"}


NARROW = new_body("jp.test-harness-only", "合同会社 安全帯特別教育センター")


def test_a_body_certifies_only_the_courses_it_is_trusted_for(
    engine: Engine, registered: RegisteredHolders, clock: FrozenClock
) -> None:
    """Issue 12 item 9: a body in the trust list for the full-harness special education only signs a
    玉掛け技能講習 certificate with its own valid key; that record is refused (course_not_trusted) and
    quarantined, its in-scope record of the same file is imported. Re-adding the body with the
    course widens its scope, and every change is audited."""
    NARROW.trust(engine, now=clock(), courses=["full-harness-tokubetsu"])
    rows = [
        row("N-1", "第55-0001号"),  # tamakake: not this body's course
        row("N-2", "第55-0002号", course_kind="特別教育", course_code="full-harness-tokubetsu",
            course_name="フルハーネス型墜落制止用器具特別教育"),
    ]  # fmt: skip
    content = encode(rows, "json-utf-8")
    signature = reader.sign(content, NARROW.key, kid=NARROW.kid, iat=IAT)

    outcomes = import_file(engine, content, signature, registered, clock())

    assert [(o.status, o.record_id, o.code) for o in outcomes] == [
        ("rejected", "N-1", "course_not_trusted"),
        ("imported", "N-2", None),
    ]
    assert set(stored(engine)) == {"N-2"}
    assert [(q.reason_code, q.issuer_id) for q in quarantined(engine)] == [("course_not_trusted", NARROW.issuer_id)]

    NARROW.trust(engine, now=clock(), courses=["full-harness-tokubetsu", "tamakake"])
    again = import_file(engine, content, signature, registered, clock())
    assert ("imported", "N-1") in [(o.status, o.record_id) for o in again]
    with Session(engine) as session:
        events = session.exec(select(TrustEvent).where(TrustEvent.issuer_id == NARROW.issuer_id)).all()
    assert [e.detail["courses"] for e in events] == ["full-harness-tokubetsu", "full-harness-tokubetsu tamakake"]


def test_a_trust_list_entry_must_name_its_courses(engine: Engine, clock: FrozenClock) -> None:
    """Issue 12 item 9: no entry trusts a body for "anything"."""
    for courses in ([], ["  "]):
        with pytest.raises(TrustError):
            NARROW.trust(engine, now=clock(), courses=courses)
