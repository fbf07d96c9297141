"""Import pipeline: verify, store or quarantine; technician-started imports in one transaction and
bulk imports transactional per batch with a committed checkpoint, so a crash (even kill -9) loses
nothing and duplicates nothing, and the next run resumes where the last committed batch ended.

Every path reads a batch of records the same way (issue 14, bulk import per CPU-second): each record
is verified on its own (signature, then the checks of connectors/verify.py), the holders of the whole
batch are looked up at once, and :class:`connectors.store.PageWriter` applies the storing rules in
record order and writes the batch with bulk statements."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
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


@dataclass(frozen=True)
class Refused:
    """A record refused before it could be read as a certificate (signature, format): quarantined."""

    rejection: Rejection
    original: str
    course_name: str | None = None


Read = CertificateRecord | Refused


def read(value: str, *, signers: dict[str, trust.TrustedSigner], source: str, now: datetime) -> Read:
    """One signed record verified and mapped, or why not."""
    verified = verify_signed_record(value, signers, source=source, now=now, mapper=to_record)
    if not isinstance(verified, Rejection):
        return verified
    # Say which record it was, from its unverified payload: the reason already says it is not trusted.
    claimed = peek(value)
    rejection = replace(
        verified, record_id=claimed.get("record_id"), certificate_number=claimed.get("certificate_number")
    )
    return Refused(rejection, value, claimed.get("course_name"))


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


def store_batch(
    session: Session,
    batch: Sequence[tuple[Read, datetime]],
    *,
    signer_of: Callable[[CertificateRecord], trust.TrustedSigner | None],
    expected_of: Callable[[CertificateRecord], ExpectedHolder | None],
    source: str,
    run_id: str | None,
    technician_hint: str | None = None,
) -> list[Outcome]:
    """Check each read record (verified at ``now``, its own time) against its signer and its
    expected holder, then store it or quarantine it with its reason; written when the batch ends,
    in the caller's transaction."""
    expected = [None if isinstance(item, Refused) else expected_of(item) for item, _ in batch]
    page = store.PageWriter(
        session,
        [item for item, _ in batch if isinstance(item, CertificateRecord)],
        technicians={e.technician_id for e in expected if e is not None},
    )
    outcomes = [
        _decide(page, item, signer_of, holder, source=source, run_id=run_id, now=now, hint=technician_hint)
        for (item, now), holder in zip(batch, expected, strict=True)
    ]
    page.flush()
    return outcomes


def _decide(
    page: store.PageWriter,
    item: Read,
    signer_of: Callable[[CertificateRecord], trust.TrustedSigner | None],
    expected: ExpectedHolder | None,
    *,
    source: str,
    run_id: str | None,
    now: datetime,
    hint: str | None,
) -> Outcome:
    if isinstance(item, Refused):
        rejection, technician, original, course = item.rejection, hint, item.original, item.course_name
    else:
        problem = check(item, signer_of(item), expected, now=now)
        if problem is None and expected is not None:
            status = page.save(item, technician_id=expected.technician_id, now=now)
            return Outcome(status, item.record_id, item.certificate_number, item.course_name)
        assert problem is not None
        if problem.code == "revoked" and expected is not None:
            page.mark_revoked(item, now=now)
        rejection, original, course = problem, item.original, item.course_name
        technician = expected.technician_id if expected else hint
    page.quarantine(rejection, source=source, original=original, technician_id=technician, run_id=run_id, now=now)
    return Outcome(
        "rejected",
        rejection.record_id,
        rejection.certificate_number,
        course,
        rejection.code,
        rejection.ja,
        rejection.en,
    )


def import_for_technician(
    session: Session, values: Iterable[str], *, holder: ExpectedHolder, source: str, now: datetime
) -> list[Outcome]:
    """Technician-started import (マイナポータルから資格を取り込む): every record must be the holder's own."""
    signers = trust.signers(session)
    batch = [(read(v, signers=signers, source=source, now=now), now) for v in values]
    outcomes = store_batch(
        session,
        batch,
        signer_of=lambda r: signers.get(r.signer_kid),
        expected_of=lambda _r: holder,
        source=source,
        run_id=None,
        technician_hint=holder.technician_id,
    )
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
    batch: list[tuple[Read, datetime]] = []
    for index, row in enumerate(signed.rows):
        try:
            item: Read = mapper.to_record(
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
            item = Refused(bad, str(row))
        batch.append((item, now))
    found = holders.holders(_technicians(item for item, _ in batch))
    outcomes = store_batch(
        session,
        batch,
        signer_of=lambda _r: signed.signer,
        expected_of=lambda r: found.get(r.holder.technician_id) if r.holder.technician_id else None,
        source=mapper.SOURCE,
        run_id=None,
    )
    session.commit()
    return outcomes


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
    with Session(engine) as session:
        signers = trust.signers(session)  # the trust list, read once per run
        run = session.get(ImportRun, report.run_id)
        assert run is not None
        cursor = run.cursor
    while True:
        try:
            page = _fetch(source, cursor, retries=retries, sleep=sleep)
        except SourceError as exc:
            report.error = str(exc)
            _finish(engine, report.run_id, status="failed", error=report.error, now=clock())
            raise ImportFailed(report) from exc
        batch = _import_page(engine, report, page, signers=signers, source=source.name, holders=holders, clock=clock)
        report.counts.update(o.status for o in batch)
        if keep_outcomes:
            report.outcomes += batch
        if on_batch is not None:
            on_batch(len(page.records), Counter(o.status for o in batch))
        if page.next_cursor is None:
            return report
        cursor = page.next_cursor


def _technicians(items: Iterable[Read]) -> set[str]:
    return {i.holder.technician_id for i in items if isinstance(i, CertificateRecord) and i.holder.technician_id}


def _import_page(
    engine: Engine,
    report: RunReport,
    page: Page,
    *,
    signers: dict[str, trust.TrustedSigner],
    source: str,
    holders: HolderDirectory,
    clock: Clock,
) -> list[Outcome]:
    """One page of records and the run's checkpoint after it, in one transaction: the page's outcomes.
    The holders the page names are looked up in one call."""
    batch: list[tuple[Read, datetime]] = []
    for value in page.records:
        now = clock()
        batch.append((read(value, signers=signers, source=source, now=now), now))
    found = holders.holders(_technicians(item for item, _ in batch))
    with Session(engine, expire_on_commit=False) as session:
        run = session.get(ImportRun, report.run_id)
        assert run is not None
        outcomes = store_batch(
            session,
            batch,
            signer_of=lambda r: signers.get(r.signer_kid),
            expected_of=lambda r: found.get(r.holder.technician_id) if r.holder.technician_id else None,
            source=source,
            run_id=report.run_id,
        )
        counts = Counter(run.counts)
        counts.update(o.status for o in outcomes)
        run.counts, run.cursor, run.updated_at = dict(counts), page.next_cursor, clock()
        if page.next_cursor is None:
            run.status = "finished"
        session.add(run)
        session.commit()  # the batch and its checkpoint, atomically
    return outcomes


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
