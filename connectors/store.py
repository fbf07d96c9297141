"""Storing verified certificates: idempotent per (issuing body, certificate number); a reissued
certificate supersedes the old one; a revocation marks an imported one revoked. Rejections go to
quarantine. Everything happens in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Executable, String, and_, any_, bindparam, insert, or_, update
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from connectors.models import Certificate, Quarantine
from connectors.records import CertificateRecord
from connectors.verify import Rejection

IMPORTED, DUPLICATE, REVOKED_EXISTING = "imported", "duplicate", "revoked_existing"


def find(session: Session, issuer_id: str, number: str) -> Certificate | None:
    stmt = (
        select(Certificate)
        .where(col(Certificate.issuer_id) == issuer_id)
        .where(col(Certificate.certificate_number) == number)
    )
    return session.exec(stmt).first()


def save(session: Session, record: CertificateRecord, *, technician_id: str, now: datetime) -> str:
    """Idempotent per (issuer, number). A reissue supersedes the old certificate whichever arrives first."""
    page = PageWriter(session, [record], technicians=[technician_id])
    status = page.save(record, technician_id=technician_id, now=now)
    page.flush()
    return status


def mark_revoked(session: Session, record: CertificateRecord, *, now: datetime) -> bool:
    """A signed revocation from the issuing body revokes the certificate if it was imported."""
    page = PageWriter(session, [record], technicians=[])
    revoked = page.mark_revoked(record, now=now)
    page.flush()
    return revoked


@dataclass(eq=False)
class _Row:
    """What the rules need to know of one certificate of the page: stored already (``id``) or new."""

    id: int | None
    technician_id: str
    status: str
    superseded_by: _Row | int | None = None
    values: dict[str, Any] | None = None  # the insert of a new row
    updated_at: datetime | None = None  # set when a stored row changes


_SEEN = (
    col(Certificate.id),
    col(Certificate.technician_id),
    col(Certificate.issuer_id),
    col(Certificate.certificate_number),
    col(Certificate.status),
    col(Certificate.supersedes),
)
CHUNK = 500  # keys per look-up statement (well under SQLite's and PostgreSQL's bind limits)


class PageWriter:
    """The rules of :func:`save`, :func:`mark_revoked` and :func:`quarantine` for a page of records at
    once (issue 14, bulk import per CPU-second): the page's certificates are read in two statements
    (by key; and the reissues held by its technicians, for "whichever arrives first"), the rules run
    in memory in record order exactly as one record at a time would, and :meth:`flush` writes the new
    certificates, the changed ones and the quarantine as bulk statements in the caller's transaction.

    ``records`` must name every record the page will save or revoke; ``technicians`` every
    technician a record is saved for."""

    def __init__(self, session: Session, records: Iterable[CertificateRecord], *, technicians: Iterable[str]) -> None:
        session.flush()  # anything the caller added is visible to the look-ups below
        self._session = session
        self._rows: dict[tuple[str, str], _Row] = {}
        self._reissues: dict[tuple[str, str], list[_Row]] = {}  # (issuer, number replaced) -> reissues
        self._new: list[_Row] = []
        self._changed: list[_Row] = []
        self._quarantine: list[dict[str, Any]] = []
        records = list(records)
        keys = {r.key for r in records} | {(r.issuer_id, r.supersedes) for r in records if r.supersedes}
        found: dict[int, Any] = {}
        self._arrays = session.get_bind().dialect.name == "postgresql"
        for by_key in _by_key(keys, arrays=self._arrays):
            found |= {row.id: row for row in session.execute(by_key)}
        people = sorted(set(technicians))
        for at in range(0, len(people), CHUNK):
            stmt = (
                select_columns(*_SEEN)
                .where(_among(col(Certificate.technician_id), people[at : at + CHUNK], arrays=self._arrays))
                .where(col(Certificate.supersedes).is_not(None))
            )
            found |= {row.id: row for row in session.execute(stmt)}
        for _, row in sorted(found.items()):  # in id order, as the database would list them
            seen = _Row(row.id, row.technician_id, row.status)
            self._remember(row.issuer_id, row.certificate_number, row.supersedes, seen)

    def _remember(self, issuer_id: str, number: str, supersedes: str | None, row: _Row) -> None:
        self._rows[(issuer_id, number)] = row
        if supersedes:
            self._reissues.setdefault((issuer_id, supersedes), []).append(row)

    def save(self, record: CertificateRecord, *, technician_id: str, now: datetime) -> str:
        """:func:`save`'s rule for one record of the page."""
        if record.key in self._rows:
            return DUPLICATE
        row = _Row(None, technician_id, "valid", values=_values(record, technician_id, now))
        self._remember(record.issuer_id, record.certificate_number, record.supersedes, row)
        self._new.append(row)
        if record.supersedes:
            old = self._rows.get((record.issuer_id, record.supersedes))
            if old is not None and old.technician_id == technician_id and old.status == "valid":
                old.status, old.superseded_by = "superseded", row
                self._touch(old, now)
        newer = next((r for r in self._reissues.get(record.key, ()) if r.technician_id == technician_id), None)
        if newer is not None:  # the reissue was imported before this, the certificate it replaces
            row.status, row.superseded_by = "superseded", newer
        return IMPORTED

    def mark_revoked(self, record: CertificateRecord, *, now: datetime) -> bool:
        """:func:`mark_revoked`'s rule for one record of the page."""
        existing = self._rows.get(record.key)
        if existing is None or existing.status == "revoked":
            return False
        existing.status = "revoked"
        self._touch(existing, now)
        return True

    def quarantine(
        self,
        rejection: Rejection,
        *,
        source: str,
        original: str,
        technician_id: str | None,
        run_id: str | None,
        now: datetime,
    ) -> None:
        """:func:`quarantine`, written at :meth:`flush`."""
        self._quarantine.append(
            _quarantined(
                rejection, source=source, original=original, technician_id=technician_id, run_id=run_id, now=now
            )
        )

    def _touch(self, row: _Row, now: datetime) -> None:
        if row.values is not None:  # a new row is written once, as it ends up
            row.values["updated_at"] = now
        else:
            row.updated_at = now
            self._changed.append(row)

    def flush(self) -> None:
        """The page's writes: one bulk insert per table (executemany: one statement the driver prepares
        once), then the rows changed or linked to a new row, whose ids are read back by key."""
        conn = self._session.connection()
        for row in self._new:  # a link to a stored row is known now; one to a new row after the insert
            assert row.values is not None
            row.values |= {"status": row.status, "superseded_by": _id(row.superseded_by)}
        if self._new:
            conn.execute(insert(Certificate), [row.values or {} for row in self._new])
        linked = [r for r in self._new if isinstance(r.superseded_by, _Row)]
        changes = list({id(r): r for r in [*self._changed, *linked]}.values())
        targets = [r.superseded_by for r in changes if isinstance(r.superseded_by, _Row)]
        self._read_ids([r for r in [*changes, *targets] if r.id is None])
        if changes:
            conn.execute(
                update(Certificate)
                .where(col(Certificate.id) == bindparam("pk"))
                .values(status=bindparam("st"), superseded_by=bindparam("by"), updated_at=bindparam("at")),
                [{"pk": r.id, "st": r.status, "by": _id(r.superseded_by), "at": _updated_at(r)} for r in changes],
            )
            for r in changes:  # an object of the caller's session must not keep showing the old state
                held = self._session.identity_map.get(self._session.identity_key(Certificate, r.id))
                if held is not None:
                    self._session.expire(held)
        if self._quarantine:
            conn.execute(insert(Quarantine), self._quarantine)
        self._new, self._changed, self._quarantine = [], [], []

    def _read_ids(self, rows: list[_Row]) -> None:
        """The ids the database gave new rows that a link names (a reissue and what it replaces)."""
        by_key = {(r.values["issuer_id"], r.values["certificate_number"]): r for r in rows if r.values is not None}
        for stmt in _by_key(by_key, arrays=self._arrays):
            for found in self._session.execute(stmt):
                by_key[(found.issuer_id, found.certificate_number)].id = found.id


def _among(column: Any, values: list[str], *, arrays: bool) -> Any:
    """``column IN (…)``; on PostgreSQL ``column = ANY(:array)``, one parameter: the statement stays
    short and the same for every page, so neither SQLAlchemy nor psycopg re-renders and re-parses
    a thousand placeholders per page (both search the index alike)."""
    if arrays:
        return column == any_(bindparam(None, values, type_=ARRAY(String)))
    return column.in_(values)


def _by_key(keys: Iterable[tuple[str, str]], *, arrays: bool) -> Iterator[Executable]:
    """Certificates by (issuer, number), :data:`CHUNK` keys a statement, written as one
    ``issuer_id = ? AND certificate_number IN (…)`` per issuer so that SQLite and PostgreSQL both
    search the unique index (a row-value ``IN`` made SQLite scan it whole)."""
    ordered = sorted(keys)
    for at in range(0, len(ordered), CHUNK):
        numbers: dict[str, list[str]] = {}
        for issuer_id, number in ordered[at : at + CHUNK]:
            numbers.setdefault(issuer_id, []).append(number)
        yield select_columns(*_SEEN).where(
            or_(
                *(
                    and_(
                        col(Certificate.issuer_id) == issuer,
                        _among(col(Certificate.certificate_number), listed, arrays=arrays),
                    )
                    for issuer, listed in numbers.items()
                )
            )
        )


def _id(target: _Row | int | None) -> int | None:
    return target.id if isinstance(target, _Row) else target


def _updated_at(row: _Row) -> datetime:
    if row.updated_at is not None:
        return row.updated_at
    assert row.values is not None
    return row.values["updated_at"]  # type: ignore[no-any-return]


def _values(record: CertificateRecord, technician_id: str, now: datetime) -> dict[str, Any]:
    return {
        "technician_id": technician_id,
        "issuer_id": record.issuer_id,
        "certificate_number": record.certificate_number,
        "source": record.source,
        "record_id": record.record_id,
        "course_kind": record.course_kind,
        "course_code": record.course_code,
        "course_name": record.course_name,
        "training_body": record.training_body,
        "completed_on": record.completed_on,
        "holder_name": record.holder.name,
        "holder_birth_date": record.holder.birth_date,
        "signer_kid": record.signer_kid,
        "issued_at": record.issued_at,
        "status": "valid",
        "superseded_by": None,
        "supersedes": record.supersedes,
        "original": record.original,
        "imported_at": now,
        "updated_at": now,
    }


def _cut(value: str | None, length: int) -> str | None:
    return value[:length] if value else None


def quarantine(
    session: Session,
    rejection: Rejection,
    *,
    source: str,
    original: str,
    technician_id: str | None,
    run_id: str | None,
    now: datetime,
) -> None:
    session.add(
        Quarantine(
            **_quarantined(
                rejection, source=source, original=original, technician_id=technician_id, run_id=run_id, now=now
            )
        )
    )


def _quarantined(
    rejection: Rejection, *, source: str, original: str, technician_id: str | None, run_id: str | None, now: datetime
) -> dict[str, Any]:
    return {
        "at": now,
        "source": source,
        "run_id": run_id,
        "record_id": _cut(rejection.record_id, 200),
        "issuer_id": _cut(rejection.issuer_id, 100),
        "certificate_number": _cut(rejection.certificate_number, 100),
        "technician_id": technician_id,
        "reason_code": rejection.code,
        "reason": f"{rejection.ja} / {rejection.en}"[:300],
        "original": original[:16000],
    }


def for_technician(session: Session, technician_id: str) -> list[Certificate]:
    return list(
        session.exec(
            select(Certificate)
            .where(col(Certificate.technician_id) == technician_id)
            .order_by(col(Certificate.completed_on).desc())
        ).all()
    )
