"""Pure mapping of one row of a signed training-body file to a :class:`CertificateRecord`."""

from __future__ import annotations

import json
import unicodedata
from datetime import date, datetime
from typing import Any

from connectors.records import COURSE_KINDS, CertificateRecord, Holder

SOURCE = "signed-file"


LIMITS = {
    "certificate_number": 100,
    "record_id": 200,
    "course_name": 200,
    "holder_name": 100,
    "technician_id": 40,  # spaces between digit groups are removed afterwards
    "course_kind": 20,
    "completed_on": 10,
    "holder_birth_date": 10,
}


def _text(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    if value is None or str(value).strip() == "":
        raise KeyError(key)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if len(text) > LIMITS.get(key, 200):
        raise ValueError(f"{key} is too long")
    return text


def to_record(
    row: dict[str, Any],
    *,
    issuer_id: str,
    training_body: str,
    signer_kid: str,
    issued_at: datetime,
    file_sha256: str,
    signature: str,
    index: int,
) -> CertificateRecord:
    """Full-width digits and dates are normalised (NFKC); ``KeyError``/``ValueError`` for bad rows."""
    kind = _text(row, "course_kind")
    if kind not in COURSE_KINDS:
        raise ValueError("unknown course kind")
    technician_id = "".join(_text(row, "technician_id").split()) if row.get("technician_id") else None
    original = json.dumps(
        {"file_sha256": file_sha256, "signature": signature, "row": index, "data": row},
        ensure_ascii=False,
        sort_keys=True,
    )
    return CertificateRecord(
        source=SOURCE,
        record_id=_text(row, "record_id") if row.get("record_id") else f"{file_sha256[:16]}:{index}",
        issuer_id=issuer_id,
        signer_kid=signer_kid,
        issued_at=issued_at,
        certificate_number=_text(row, "certificate_number"),
        course_kind=kind,
        course_code=str(row.get("course_code") or ""),
        course_name=_text(row, "course_name"),
        training_body=str(row.get("training_body") or training_body),
        completed_on=date.fromisoformat(_text(row, "completed_on")),
        holder=Holder(
            name=_text(row, "holder_name"),
            name_kana=row.get("holder_kana") or None,
            birth_date=date.fromisoformat(_text(row, "holder_birth_date")),
            technician_id=technician_id,
        ),
        status=str(row.get("status") or "valid").strip() or "valid",
        supersedes=row.get("supersedes") or None,
        original=original,
    )
