"""Verification of every record before import (issue 5, item 4):

1. the signature is valid, by a key in the trust list (unknown signers are refused);
2. that key was valid at the record's issue time, and the issue time is not in the future;
2a. the body is trusted for the record's course (issue 12 item 9: a trust-list entry lists the
    courses its body may certify; a certificate for any other course is refused);
3. the holder is the technician (name after width/space/old-kanji normalisation, and birth date);
4. the certificate is not revoked, and its dates are plausible.

Anything that fails becomes a :class:`Rejection` with a stable code and a reason in Japanese and
English; it is quarantined, never imported.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError

from connectors.names import same_person
from connectors.records import CertificateRecord
from connectors.trust import TrustedSigner

SKEW = timedelta(minutes=5)
#: Built once, not per record (issue 14: bulk import per CPU-second): ES256 is the only algorithm.
ES256_ONLY = jws.JWSRegistry(algorithms=["ES256"])


@dataclass(frozen=True)
class Rejection:
    code: str
    ja: str
    en: str
    record_id: str | None = None
    issuer_id: str | None = None
    certificate_number: str | None = None

    def with_ids(self, record: CertificateRecord) -> Rejection:
        return Rejection(self.code, self.ja, self.en, record.record_id, record.issuer_id, record.certificate_number)


@dataclass(frozen=True)
class ExpectedHolder:
    technician_id: str
    name: str
    birth_date: date


MALFORMED = ("malformed", "記録の形式が正しくありません", "the record is malformed")
UNKNOWN_SIGNER = ("unknown_signer", "信頼リストにない機関の署名です", "signed by a body that is not in the trust list")
BAD_SIGNATURE = (
    "bad_signature",
    "署名が正しくありません（改ざんの可能性）",
    "the signature does not verify (altered?)",
)
KEY_NOT_VALID = (
    "signer_key_not_valid",
    "署名鍵が発行時点で有効ではありません",
    "the signing key was not valid when issued",
)
ISSUER_MISMATCH = ("issuer_mismatch", "署名者と発行機関が一致しません", "the signer is not the issuing body")
FUTURE = ("future_date", "日付が未来になっています", "a date is in the future")
COURSE_OUT_OF_SCOPE = (
    "course_not_trusted",
    "この機関はこの講習の修了証の発行機関として信頼リストに登録されていません",
    "the trust list does not list this body for this course",
)
IDENTITY = (
    "identity_mismatch",
    "本人の記録ではありません（氏名・生年月日が一致しません）",
    "not this technician's record (name or birth date differ)",
)
UNKNOWN_HOLDER = ("unknown_holder", "該当する技能者が登録されていません", "no registered technician matches the holder")
REVOKED = ("revoked", "この修了証は取り消されています", "this certificate has been revoked")


def reject(reason: tuple[str, str, str], **ids: str | None) -> Rejection:
    return Rejection(reason[0], reason[1], reason[2], **ids)


Mapper = Callable[..., CertificateRecord]


def verify_signed_record(
    value: str, signers: dict[str, TrustedSigner], *, source: str, now: datetime, mapper: Mapper
) -> CertificateRecord | Rejection:
    """A compact JWS record signed by its issuing body (ES256, ``kid`` names the key)."""
    try:
        compact = jws.extract_compact(value.encode("ascii"))
        kid = compact.protected.get("kid")
    except (JoseError, ValueError, UnicodeEncodeError):
        return reject(MALFORMED)
    signer = signers.get(str(kid)) if kid else None
    if signer is None:
        return reject(UNKNOWN_SIGNER)
    try:  # the record was parsed once above; verified as jws.deserialize_compact(…, ["ES256"]) would
        if not jws.validate_compact(compact, signer.key, registry=ES256_ONLY):
            raise BadSignatureError()
        claims = json.loads(compact.payload)
        issued_at = datetime.fromtimestamp(int(claims["iat"]), tz=UTC)
        record = mapper(
            claims,
            source=source,
            issuer_id=signer.issuer_id,
            signer_kid=signer.kid,
            issued_at=issued_at,
            original=value,
        )
    except (JoseError, UnicodeDecodeError) as exc:
        return reject(BAD_SIGNATURE if isinstance(exc, JoseError) else MALFORMED)
    except (ValueError, KeyError, TypeError, OverflowError):
        return reject(MALFORMED)
    if record.issuer_id != signer.issuer_id:
        return reject(ISSUER_MISMATCH).with_ids(record)
    return record


def check(
    record: CertificateRecord, signer: TrustedSigner | None, expected: ExpectedHolder | None, *, now: datetime
) -> Rejection | None:
    """The checks that do not depend on how the record was signed."""
    if signer is None:
        return reject(UNKNOWN_SIGNER).with_ids(record)
    if record.issued_at > now + SKEW or record.completed_on > now.date():
        return reject(FUTURE).with_ids(record)
    if not signer.valid_at(record.issued_at):
        return reject(KEY_NOT_VALID).with_ids(record)
    if record.course_code not in signer.courses:
        return reject(COURSE_OUT_OF_SCOPE).with_ids(record)
    if expected is None:
        return reject(UNKNOWN_HOLDER).with_ids(record)
    if record.holder.technician_id and record.holder.technician_id != expected.technician_id:
        return reject(IDENTITY).with_ids(record)
    if not same_person(record.holder.name, record.holder.birth_date, expected.name, expected.birth_date):
        return reject(IDENTITY).with_ids(record)
    if record.status == "revoked":
        return reject(REVOKED).with_ids(record)
    if record.status != "valid":
        return reject(MALFORMED).with_ids(record)
    return None
