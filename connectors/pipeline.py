"""Import pipeline: verify, store or quarantine; technician-started imports in one transaction and
bulk imports transactional per batch with a committed checkpoint, so a crash (even kill -9) loses
nothing and duplicates nothing, and the next run resumes where the last committed batch ended."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from common.errors import GenbaError
from connectors import store, trust
from connectors.models import ImportRun
from connectors.ports import HolderDirectory, Page, PagedSource, SourceError
from connectors.records import CertificateRecord
from connectors.sources.mynaportal.mapper import to_record
from connectors.verify import ExpectedHolder, Rejection, check, verify_signed_record

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Outcome:
    """What happened to one record (the per-record report)."""

    status: str  # imported | duplicate | rejected
    record_id: str | None
    certificate_number: str | None
    course_name: str | None
    code: str | None = None
    reason_ja: str | None = None
    reason_en: str | None = None


def process(
    session: Session,
    value: str,
    *,
    signers: dict[str, trust.TrustedSigner],
    source: str,
    expected_for: Callable[[CertificateRecord], ExpectedHolder | None],
    run_id: str | None,
    now: datetime,
    technician_hint: str | None = None,
) -> Outcome:
    """Verify one signed record and store it, or quarantine it with its reason."""
    verified = verify_signed_record(value, signers, source=source, now=now, mapper=to_record)
    expected, course = None, None
    if isinstance(verified, Rejection):
        # Say which record it was, from its unverified payload: the reason already says it is not trusted.
        claimed = peek(value)
        rejection = replace(
            verified, record_id=claimed.get("record_id"), certificate_number=claimed.get("certificate_number")
        )
        course = claimed.get("course_name")
    else:
        expected, course = expected_for(verified), verified.course_name
        problem = check(verified, signers.get(verified.signer_kid), expected, now=now)
        if problem is None and expected is not None:
            status = store.save(session, verified, technician_id=expected.technician_id, now=now)
            return Outcome(status, verified.record_id, verified.certificate_number, course)
        assert problem is not None
        if problem.code == "revoked" and expected is not None:
            store.mark_revoked(session, verified, now=now)
        rejection = problem
    store.quarantine(
        session,
        rejection,
        source=source,
        original=value,
        technician_id=expected.technician_id if expected else technician_hint,
        run_id=run_id,
        now=now,
    )
    return Outcome(
        "rejected",
        rejection.record_id,
        rejection.certificate_number,
        course,
        rejection.code,
        rejection.ja,
        rejection.en,
    )


def peek(value: str) -> dict[str, str]:
    """Display-only fields of a record that did not verify (never stored as facts)."""
    try:
        payload = value.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(claims, dict):
        return {}
    return {k: str(claims[k])[:100] for k in ("record_id", "certificate_number", "course_name") if k in claims}


def import_for_technician(
    session: Session, values: Iterable[str], *, holder: ExpectedHolder, source: str, now: datetime
) -> list[Outcome]:
    """Technician-started import (マイナポータルから資格を取り込む): every record must be the holder's own."""
    signers = trust.signers(session)
    outcomes = [
        process(
            session,
            v,
            signers=signers,
            source=source,
            expected_for=lambda _r: holder,
            run_id=None,
            now=now,
            technician_hint=holder.technician_id,
        )
        for v in values
    ]
    session.commit()
    return outcomes


def import_signed_file(
    session: Session, content: bytes, signature: str, *, holders: HolderDirectory, now: datetime
) -> list[Outcome]:
    """A training body's signed file: the whole file is refused if its signature fails; then each row
    is checked like any record. One transaction: the file is imported entirely or not at all."""
    from connectors.sources.signed_file import mapper, reader

    signers = trust.signers(session)
    signed = reader.read(content, signature, signers)
    if isinstance(signed, Rejection):
        store.quarantine(
            session, signed, source=mapper.SOURCE, original=signature, technician_id=None, run_id=None, now=now
        )
        session.commit()
        return [Outcome("rejected", None, None, None, signed.code, signed.ja, signed.en)]
    outcomes = []
    for index, row in enumerate(signed.rows):
        try:
            record = mapper.to_record(
                row,
                issuer_id=signed.signer.issuer_id,
                training_body=signed.signer.issuer_name,
                signer_kid=signed.signer.kid,
                issued_at=signed.issued_at,
                file_sha256=signed.sha256,
                signature=signature,
                index=index,
            )
        except (KeyError, ValueError, TypeError) as exc:
            bad = Rejection(
                "malformed",
                f"行 {index + 1}: 項目が不足または不正です ({str(exc)[:80]})",
                f"row {index + 1}: missing or invalid field ({str(exc)[:80]})",
            )
            store.quarantine(
                session, bad, source=mapper.SOURCE, original=str(row), technician_id=None, run_id=None, now=now
            )
            outcomes.append(Outcome("rejected", None, None, None, bad.code, bad.ja, bad.en))
            continue
        expected = holders.holder(record.holder.technician_id) if record.holder.technician_id else None
        outcomes.append(_apply(session, record, signed.signer, expected, source=mapper.SOURCE, now=now))
    session.commit()
    return outcomes


def _apply(
    session: Session,
    record: CertificateRecord,
    signer: trust.TrustedSigner,
    expected: ExpectedHolder | None,
    *,
    source: str,
    now: datetime,
) -> Outcome:
    problem = check(record, signer, expected, now=now)
    if problem is None and expected is not None:
        status = store.save(session, record, technician_id=expected.technician_id, now=now)
        return Outcome(status, record.record_id, record.certificate_number, record.course_name)
    assert problem is not None
    if problem.code == "revoked" and expected is not None:
        store.mark_revoked(session, record, now=now)
    store.quarantine(
        session,
        problem,
        source=source,
        original=record.original,
        technician_id=expected.technician_id if expected else None,
        run_id=None,
        now=now,
    )
    return Outcome(
        "rejected",
        record.record_id,
        record.certificate_number,
        record.course_name,
        problem.code,
        problem.ja,
        problem.en,
    )


@dataclass
class RunReport:
    run_id: str
    resumed: bool
    counts: Counter[str] = field(default_factory=Counter)
    outcomes: list[Outcome] = field(default_factory=list)
    error: str | None = None


class ImportFailed(GenbaError, RuntimeError):
    """An import run failed; ``report`` says how far it got and why."""

    code = "import_failed"

    def __init__(self, report: RunReport) -> None:
        super().__init__(str(report.error), args=(report.error,))
        self.report = report


def bulk_import(
    engine: Engine,
    source: PagedSource,
    *,
    holders: HolderDirectory,
    clock: Clock,
    restart: bool = False,
    on_batch: Callable[[int, Counter[str]], None] | None = None,
    retries: int = 3,
    sleep: Callable[[float], None] = time.sleep,
    keep_outcomes: bool = True,
) -> RunReport:
    """Import every record of ``source``; one transaction per page, checkpoint included."""
    report = _start(engine, source.name, restart=restart, now=clock())
    cache: dict[str, ExpectedHolder | None] = {}

    def expected_for(record: CertificateRecord) -> ExpectedHolder | None:
        tid = record.holder.technician_id
        if not tid:
            return None
        if tid not in cache:
            cache[tid] = holders.holder(tid)
        return cache[tid]

    with Session(engine) as session:
        signers = trust.signers(session)
    while True:
        with Session(engine, expire_on_commit=False) as session:
            run = session.get(ImportRun, report.run_id)
            assert run is not None
            cursor = run.cursor
        try:
            page = _fetch(source, cursor, retries=retries, sleep=sleep)
        except SourceError as exc:
            report.error = str(exc)
            _finish(engine, report.run_id, status="failed", error=report.error, now=clock())
            raise ImportFailed(report) from exc
        batch = _import_page(
            engine,
            report,
            page,
            signers=signers,
            source=source.name,
            expected_for=expected_for,
            clock=clock,
            keep_outcomes=keep_outcomes,
        )
        report.counts.update(batch)
        if on_batch is not None:
            on_batch(len(page.records), batch)
        if page.next_cursor is None:
            return report


def _import_page(
    engine: Engine,
    report: RunReport,
    page: Page,
    *,
    signers: dict[str, trust.TrustedSigner],
    source: str,
    expected_for: Callable[[CertificateRecord], ExpectedHolder | None],
    clock: Clock,
    keep_outcomes: bool,
) -> Counter[str]:
    """One page of records and the run's checkpoint after it, in one transaction: the page's counts."""
    with Session(engine, expire_on_commit=False) as session:
        run = session.get(ImportRun, report.run_id)
        assert run is not None
        batch: Counter[str] = Counter()
        for value in page.records:
            outcome = process(
                session,
                value,
                signers=signers,
                source=source,
                expected_for=expected_for,
                run_id=report.run_id,
                now=clock(),
            )
            batch[outcome.status] += 1
            if keep_outcomes:
                report.outcomes.append(outcome)
        counts = Counter(run.counts)
        counts.update(batch)
        run.counts, run.cursor, run.updated_at = dict(counts), page.next_cursor, clock()
        if page.next_cursor is None:
            run.status = "finished"
        session.add(run)
        session.commit()  # the batch and its checkpoint, atomically
    return batch


def _fetch(source: PagedSource, cursor: str | None, *, retries: int, sleep: Callable[[float], None]) -> Page:
    delay = 0.5
    for attempt in range(retries + 1):
        try:
            return source.fetch(cursor)
        except SourceError:
            if attempt == retries:
                raise
            sleep(delay)
            delay *= 2
    raise SourceError("unreachable")  # pragma: no cover


def _start(engine: Engine, source: str, *, restart: bool, now: datetime) -> RunReport:
    with Session(engine) as session:
        stmt = (
            select(ImportRun)
            .where(col(ImportRun.source) == source)
            .where(col(ImportRun.status).in_(("running", "failed")))  # never an abandoned run
            .order_by(col(ImportRun.started_at).desc())
        )
        previous = session.exec(stmt).first()
        if previous is not None and not restart:
            previous.status, previous.error, previous.updated_at = "running", None, now
            session.add(previous)
            session.commit()
            report = RunReport(previous.id, resumed=True)
            report.counts.update(previous.counts)
            return report
        if previous is not None:
            previous.status = "abandoned"
            session.add(previous)
        run = ImportRun(
            id=secrets.token_hex(8),
            source=source,
            cursor=None,
            status="running",
            counts={},
            started_at=now,
            updated_at=now,
        )
        session.add(run)
        session.commit()
        return RunReport(run.id, resumed=False)


def _finish(engine: Engine, run_id: str, *, status: str, error: str | None, now: datetime) -> None:
    with Session(engine) as session:
        run = session.get(ImportRun, run_id)
        if run is not None:
            run.status, run.error, run.updated_at = status, (error or "")[:300] or None, now
            session.add(run)
            session.commit()
