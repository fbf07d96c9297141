"""Storing verified certificates: idempotent per (issuing body, certificate number); a reissued
certificate supersedes the old one; a revocation marks an imported one revoked. Rejections go to
quarantine. Everything happens in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

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
    existing = find(session, record.issuer_id, record.certificate_number)
    if existing is not None:
        return DUPLICATE
    row = Certificate(
        technician_id=technician_id,
        issuer_id=record.issuer_id,
        certificate_number=record.certificate_number,
        source=record.source,
        record_id=record.record_id,
        course_kind=record.course_kind,
        course_code=record.course_code,
        course_name=record.course_name,
        training_body=record.training_body,
        completed_on=record.completed_on,
        holder_name=record.holder.name,
        holder_birth_date=record.holder.birth_date,
        signer_kid=record.signer_kid,
        issued_at=record.issued_at,
        status="valid",
        supersedes=record.supersedes,
        original=record.original,
        imported_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    if record.supersedes:
        old = find(session, record.issuer_id, record.supersedes)
        if old is not None and old.technician_id == technician_id and old.status == "valid":
            old.status, old.superseded_by, old.updated_at = "superseded", row.id, now
            session.add(old)
    newer = session.exec(
        select(Certificate)
        .where(col(Certificate.issuer_id) == record.issuer_id)
        .where(col(Certificate.supersedes) == record.certificate_number)
        .where(col(Certificate.technician_id) == technician_id)
    ).first()
    if newer is not None:  # the reissue was imported before this, the certificate it replaces
        row.status, row.superseded_by = "superseded", newer.id
        session.add(row)
    return IMPORTED


def mark_revoked(session: Session, record: CertificateRecord, *, now: datetime) -> bool:
    """A signed revocation from the issuing body revokes the certificate if it was imported."""
    existing = find(session, record.issuer_id, record.certificate_number)
    if existing is None or existing.status == "revoked":
        return False
    existing.status, existing.updated_at = "revoked", now
    session.add(existing)
    return True


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
            at=now,
            source=source,
            run_id=run_id,
            record_id=_cut(rejection.record_id, 200),
            issuer_id=_cut(rejection.issuer_id, 100),
            certificate_number=_cut(rejection.certificate_number, 100),
            technician_id=technician_id,
            reason_code=rejection.code,
            reason=f"{rejection.ja} / {rejection.en}"[:300],
            original=original[:16000],
        )
    )


def for_technician(session: Session, technician_id: str) -> list[Certificate]:
    return list(
        session.exec(
            select(Certificate)
            .where(col(Certificate.technician_id) == technician_id)
            .order_by(col(Certificate.completed_on).desc())
        ).all()
    )
