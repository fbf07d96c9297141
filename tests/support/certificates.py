"""Imported certificates for tests that need some on file: stored through ``connectors.store.save``,
the path an import takes after verification, so the rows are what a real import leaves."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from connectors import store
from connectors.records import CertificateRecord, Holder


def add_imported(
    session: Session,
    *,
    technician_id: str,
    issuer_id: str,
    number: str,
    course_code: str,
    course_name: str,
    training_body: str,
    completed_on: date,
    holder_name: str,
    holder_birth_date: date,
    now: datetime,
    course_kind: str = "技能講習",
    signer_kid: str = "kid-1",
    source: str = "test",
) -> None:
    """One verified certificate of ``technician_id`` (status valid), in the caller's transaction."""
    record = CertificateRecord(
        source=source,
        record_id=f"rec-{issuer_id}-{number}",
        issuer_id=issuer_id,
        signer_kid=signer_kid,
        issued_at=now,
        certificate_number=number,
        course_kind=course_kind,
        course_code=course_code,
        course_name=course_name,
        training_body=training_body,
        completed_on=completed_on,
        holder=Holder(name=holder_name, name_kana=None, birth_date=holder_birth_date, technician_id=technician_id),
        status="valid",
        supersedes=None,
        original="{}",
    )
    assert store.save(session, record, technician_id=technician_id, now=now) == store.IMPORTED
