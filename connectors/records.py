"""``CertificateRecord``: the plain value every certificate source produces (docs/architecture.md).

A record is what a training body (実施機関) signed about one skill-training completion
(技能講習修了証) or special education (特別教育): course, body, date, number, holder. The original
signed form (a compact JWS) travels with it, so the wallet can keep what was verified.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from common import courses as catalogue

#: 講習の種類 a record may carry: the one course catalogue's (common/courses.py)
COURSE_KINDS = tuple(catalogue.COURSE_KINDS)


@dataclass(frozen=True)
class Holder:
    name: str
    name_kana: str | None
    birth_date: date
    technician_id: str | None


@dataclass(frozen=True)
class CertificateRecord:
    source: str
    record_id: str
    issuer_id: str
    signer_kid: str
    issued_at: datetime
    certificate_number: str
    course_kind: str
    course_code: str
    course_name: str
    training_body: str
    completed_on: date
    holder: Holder
    status: str  # valid | revoked
    supersedes: str | None
    original: str  # the signed form as received (compact JWS, or JWS with detached payload + file digest)

    @property
    def key(self) -> tuple[str, str]:
        """Certificate numbers are unique per issuing body, not globally."""
        return (self.issuer_id, self.certificate_number)
