"""Credential types (SD-JWT VC type metadata, Japanese and English) and issuing them.

- ``ccus_card``: the CCUS technician card (技能者ID, 氏名, level with its colour 白/青/銀/金,
  occupations, current employer, social insurance, face photo), valid one year.
- ``skill_training_certificate``: one per imported 技能講習/特別教育 record.

Only ``iss``, ``iat``, ``exp``, ``vct``, ``cnf`` and ``status`` are always visible: everything
that is not needed to check validity is selectively disclosable.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from wallet import sdjwt, status
from wallet.keys import CREDENTIAL_MAX_DAYS, KeyRing
from wallet.models import IssuedCredential
from wallet.ports import CardData, CertificateData

CARD = "ccus_card"
CERTIFICATE = "skill_training_certificate"
LEVEL_COLOURS = {
    1: ("白", "white", "#f4f4f4", "#111111"),
    2: ("青", "blue", "#1f5fbf", "#ffffff"),
    3: ("銀", "silver", "#a7adb4", "#111111"),
    4: ("金", "gold", "#c9a227", "#111111"),
}
#: Never longer than the signing certificate outlives its use period (wallet.keys).
VALIDITY = timedelta(days=CREDENTIAL_MAX_DAYS)


@dataclass(frozen=True)
class CredentialType:
    configuration_id: str
    vct_path: str
    name_ja: str
    name_en: str
    background: str
    text: str
    claims: tuple[tuple[str, str, str], ...]  # (claim, ja label, en label)

    def vct(self, issuer: str) -> str:
        return f"{issuer}/vct/{self.vct_path}"


TYPES = {
    CARD: CredentialType(
        CARD,
        "ccus-technician-card",
        "建設キャリアアップカード",
        "CCUS technician card",
        "#1f5fbf",
        "#ffffff",
        (
            ("technician_id", "技能者ID", "Technician ID"),
            ("name", "氏名", "Name"),
            ("name_kana", "フリガナ", "Name (kana)"),
            ("level", "レベル", "Level"),
            ("level_colour", "カードの色", "Card colour"),
            ("occupations", "職種", "Occupations"),
            ("employer", "所属事業者", "Employer"),
            ("social_insurance", "社会保険加入状況", "Social insurance"),
            ("kentaikyo", "建退共", "Kentaikyo membership"),
            ("face_photo", "顔写真", "Face photo"),
        ),
    ),
    CERTIFICATE: CredentialType(
        CERTIFICATE,
        "skill-training-certificate",
        "技能講習・特別教育修了証",
        "Skill-training certificate",
        "#2d6a4f",
        "#ffffff",
        (
            ("course_kind", "講習の種類", "Kind"),
            ("course_code", "講習コード", "Course code"),
            ("course_name", "講習名", "Course"),
            ("training_body", "実施機関", "Training body"),
            ("completed_on", "修了年月日", "Completed on"),
            ("certificate_number", "修了証番号", "Certificate number"),
            ("holder_name", "氏名", "Holder name"),
            ("holder_birth_date", "生年月日", "Date of birth"),
            ("technician_id", "技能者ID", "Technician ID"),
            ("issuing_body_id", "発行機関ID", "Issuing body ID"),
        ),
    ),
}


def type_metadata(kind: CredentialType, issuer: str) -> dict[str, Any]:
    """SD-JWT VC type metadata (draft-ietf-oauth-sd-jwt-vc §6): display in ja and en, claim labels."""
    return {
        "vct": kind.vct(issuer),
        "name": kind.name_en,
        "display": [
            {
                "locale": "ja-JP",
                "name": kind.name_ja,
                "rendering": {"simple": {"background_color": kind.background, "text_color": kind.text}},
            },
            {
                "locale": "en-US",
                "name": kind.name_en,
                "rendering": {"simple": {"background_color": kind.background, "text_color": kind.text}},
            },
        ],
        "claims": [
            {
                "path": [claim],
                "sd": "always",
                "display": [{"locale": "ja-JP", "label": ja}, {"locale": "en-US", "label": en}],
            }
            for claim, ja, en in kind.claims
        ],
    }


def card_claims(card: CardData) -> dict[str, Any]:
    colour_ja, colour_en, _, _ = LEVEL_COLOURS.get(card.level, LEVEL_COLOURS[1])
    return {
        "technician_id": card.technician_id,
        "name": card.name,
        "name_kana": card.name_kana,
        "level": card.level,
        "level_colour": {"ja": colour_ja, "en": colour_en},
        "occupations": list(card.occupations),
        "employer": {"employer_id": card.employer_id, "name": card.employer_name} if card.employer_id else None,
        "social_insurance": {
            "health": card.health_insurance,
            "pension": card.pension_insurance,
            "employment": card.employment_insurance,
        },
        "kentaikyo": card.kentaikyo,
        "face_photo": card.face_photo,
    }


def certificate_claims(cert: CertificateData) -> dict[str, Any]:
    return {
        "course_kind": cert.course_kind,
        "course_code": cert.course_code,
        "course_name": cert.course_name,
        "training_body": cert.training_body,
        "completed_on": cert.completed_on.isoformat(),
        "certificate_number": cert.certificate_number,
        "holder_name": cert.holder_name,
        "holder_birth_date": cert.holder_birth_date.isoformat(),
        # the holder's 技能者ID: a gate joins a certificate to the card by it, not by the name (issue 12)
        "technician_id": cert.technician_id,
        "issuing_body_id": cert.issuer_id,
    }


@dataclass(frozen=True)
class Issue:
    credential: str
    row: IssuedCredential


def issue(
    session: Session,
    keys: KeyRing,
    publisher: status.StatusPublisher,
    *,
    issuer: str,
    kind: CredentialType,
    claims: dict[str, Any],
    technician_id: str,
    subject_ref: str | None,
    holder_jwk: dict[str, Any],
    holder_jkt: str,
    notification_id: str,
    now: datetime,
) -> Issue:
    """One SD-JWT VC bound to ``holder_jwk`` with its own random status index and 1-5 decoy digests."""
    list_id, index = status.claim_index(session, now=now)
    credential_id = secrets.token_urlsafe(16)
    payload = {
        "iss": issuer,
        "iat": int(now.timestamp()),
        "exp": int((now + VALIDITY).timestamp()),
        "vct": kind.vct(issuer),
        "cnf": {"jwk": holder_jwk},
        "status": {"status_list": {"idx": index, "uri": publisher.uri(list_id)}},
    }
    signing = keys.current(now)
    issued = sdjwt.issue(
        payload=payload,
        selective={k: v for k, v in claims.items() if v is not None},
        key=signing.key,
        header={"kid": signing.kid, "x5c": signing.x5c},
        decoys=1 + secrets.randbelow(5),
    )
    row = IssuedCredential(
        id=credential_id,
        technician_id=technician_id,
        configuration_id=kind.configuration_id,
        subject_ref=subject_ref,
        status_list_id=list_id,
        status_index=index,
        status=status.VALID,
        holder_jkt=holder_jkt,
        notification_id=notification_id,
        issued_at=now,
        expires_at=now + VALIDITY,
    )
    session.add(row)
    return Issue(issued.sd_jwt, row)
