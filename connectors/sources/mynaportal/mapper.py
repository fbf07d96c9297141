"""Pure mapping of a MyNaPortal-style signed record's payload to a :class:`CertificateRecord`."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Any

from connectors.records import COURSE_KINDS, CertificateRecord, Holder

SOURCE = "mynaportal"


def _date(value: Any) -> date:
    if not isinstance(value, str):
        raise ValueError("date must be a string")
    return date.fromisoformat(unicodedata.normalize("NFKC", value).strip())


def to_record(
    claims: dict[str, Any], *, source: str, issuer_id: str, signer_kid: str, issued_at: datetime, original: str
) -> CertificateRecord:
    """``ValueError``/``KeyError``/``TypeError`` on missing or malformed fields."""
    holder = claims["holder"]
    if not isinstance(holder, dict):
        raise ValueError("holder must be an object")
    kind = str(claims["course_kind"])
    if kind not in COURSE_KINDS:
        raise ValueError("unknown course kind")
    technician_id = holder.get("technician_id")
    if technician_id is not None:
        technician_id = "".join(unicodedata.normalize("NFKC", str(technician_id)).split())
    return CertificateRecord(
        source=source,
        record_id=str(claims["record_id"]),
        issuer_id=str(claims.get("iss") or issuer_id),
        signer_kid=signer_kid,
        issued_at=issued_at,
        certificate_number=unicodedata.normalize("NFKC", str(claims["certificate_number"])).strip(),
        course_kind=kind,
        course_code=str(claims["course_code"]),
        course_name=str(claims["course_name"]),
        training_body=str(claims["training_body"]),
        completed_on=_date(claims["completed_on"]),
        holder=Holder(
            name=str(holder["name"]),
            name_kana=holder.get("name_kana"),
            birth_date=_date(holder["birth_date"]),
            technician_id=technician_id or None,
        ),
        status=str(claims.get("status") or "valid"),
        supersedes=claims.get("supersedes") or None,
        original=original,
    )
