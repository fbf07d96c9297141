"""The technician record as the register discloses it: one typed section per field group of the
consent engine (``consent.groups.FieldGroup``; issue 4, item 1: every field in exactly one group).

``FullRecord`` is everything the register holds about a technician, for the register and the
application only (the wallet's card is made from it by ``app.wallet_wiring``). What leaves is a
``TechnicianRecordView``: a section for each group a decision allowed and ``None`` for every other
one (docs/domain.md rule 1, docs/security.md "one disclosure path": nothing is disclosed by default, so
an empty view discloses nothing). ``FullRecord.release`` is the only way from one to the other;
``register.disclosure.disclose`` is the only caller that decides what to release.

``TechnicianRecordView.to_json`` is the record's JSON, as the data API, the roster and the ``ccus``
claim carry it: the field names of ``consent.groups.FIELD_GROUP``, in group order, with the rule 3
marker ``contact_is_company`` last when the contact is the company's; ``field_names`` are the items a
disclosure record names (APPI art. 29).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from consent.groups import RECORD_GROUPS, FieldGroup

#: CCUS level → its card colour (Japanese, English): 1 白, 2 青, 3 銀, 4 金.
LEVEL_COLOURS = {1: ("白", "white"), 2: ("青", "blue"), 3: ("銀", "silver"), 4: ("金", "gold")}


@dataclass(frozen=True)
class Identity:
    """Group ``identity``: 技能者ID, name, kana and gender."""

    technician_id: str
    name: str
    name_kana: str
    gender: str

    def to_json(self) -> dict[str, Any]:
        return {
            "technician_id": self.technician_id,
            "name": self.name,
            "name_kana": self.name_kana,
            "gender": self.gender,
        }


@dataclass(frozen=True)
class BirthDate:
    """Group ``birth_date``."""

    born: date

    def to_json(self) -> dict[str, Any]:
        return {"birth_date": self.born.isoformat()}


@dataclass(frozen=True)
class Contact:
    """Group ``contact``: the technician's address and phone, or the company's (rule 3,
    ``is_company``)."""

    address: str
    phone: str
    is_company: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "phone": self.phone}


@dataclass(frozen=True)
class FacePhoto:
    """Group ``face_photo``: a ``data:`` URL, or ``None`` when the register holds no photo."""

    data_uri: str | None

    def to_json(self) -> dict[str, Any]:
        return {"face_photo": self.data_uri}


@dataclass(frozen=True)
class Employment:
    """An affiliation in force: the employer and the day it began."""

    employer_id: str
    trade_name: str
    since: date


@dataclass(frozen=True)
class CurrentAffiliation:
    """Group ``current_affiliation``: the employer today, or ``None`` between employers."""

    employer: Employment | None

    def to_json(self) -> dict[str, Any]:
        e = self.employer
        return {
            "current_employer": (
                {"employer_id": e.employer_id, "trade_name": e.trade_name, "since": e.since.isoformat()} if e else None
            )
        }


@dataclass(frozen=True)
class PastEmployment:
    employer_id: str
    trade_name: str
    start: date
    end: date | None


@dataclass(frozen=True)
class PastAffiliations:
    """Group ``past_affiliations``: every affiliation not in force today, latest first."""

    employers: tuple[PastEmployment, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "past_employers": [
                {
                    "employer_id": e.employer_id,
                    "trade_name": e.trade_name,
                    "from": e.start.isoformat(),
                    "to": e.end.isoformat() if e.end else None,
                }
                for e in self.employers
            ]
        }


@dataclass(frozen=True)
class SocialInsurance:
    """Group ``social_insurance``: each insurance ``enrolled | exempt | not_enrolled | unknown``, and
    建退共 membership."""

    health_insurance: str
    pension_insurance: str
    employment_insurance: str
    kentaikyo: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "health_insurance": self.health_insurance,
            "pension_insurance": self.pension_insurance,
            "employment_insurance": self.employment_insurance,
            "kentaikyo": self.kentaikyo,
        }


@dataclass(frozen=True)
class Qualifications:
    """Group ``qualifications``: as registered (free-form objects of the register)."""

    entries: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        return {"qualifications": list(self.entries)}


@dataclass(frozen=True)
class EducationTraining:
    """Group ``education_training``: education, training and awards, as registered."""

    education: tuple[dict[str, Any], ...]
    training: tuple[dict[str, Any], ...]
    awards: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        return {"education": list(self.education), "training": list(self.training), "awards": list(self.awards)}


@dataclass(frozen=True)
class WorkDay:
    """One 就業履歴 record: a day on a site, with entry/exit, the company, its tier and every tier's
    company."""

    day: date
    site_id: str
    site_name: str
    entry_at: datetime | None
    exit_at: datetime | None
    employer_id: str | None
    tier: int
    tier_companies: tuple[str, ...]
    role: str
    work_content: str
    occupation: str

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "site_id": self.site_id,
            "site_name": self.site_name,
            "entry_at": self.entry_at.isoformat() if self.entry_at else None,
            "exit_at": self.exit_at.isoformat() if self.exit_at else None,
            "employer_id": self.employer_id,
            "tier": self.tier,
            "tier_companies": list(self.tier_companies),
            "role": self.role,
            "work_content": self.work_content,
            "occupation": self.occupation,
        }


@dataclass(frozen=True)
class WorkHistory:
    """Group ``work_history``: the days on the sites a decision names (rule 2), latest first."""

    days: tuple[WorkDay, ...]

    def to_json(self) -> dict[str, Any]:
        return {"work_history": [d.to_json() for d in self.days]}


@dataclass(frozen=True)
class LevelOccupation:
    """Group ``level_occupation``: the CCUS level (1-4) with its card colour, and the occupations."""

    level: int
    occupations: tuple[str, ...]

    @property
    def colour(self) -> str:
        return LEVEL_COLOURS.get(self.level, ("", ""))[1]

    @property
    def colour_ja(self) -> str:
        return LEVEL_COLOURS.get(self.level, ("", ""))[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "level": {"level": self.level, "colour": self.colour, "colour_ja": self.colour_ja},
            "occupations": list(self.occupations),
        }


Section = (
    Identity
    | BirthDate
    | Contact
    | FacePhoto
    | CurrentAffiliation
    | PastAffiliations
    | SocialInsurance
    | Qualifications
    | EducationTraining
    | WorkHistory
    | LevelOccupation
)


@dataclass(frozen=True)
class TechnicianRecordView:
    """The part of a technician's record that leaves: one attribute per field group, named as the
    group; ``None`` is a group withheld (or never asked for). Nothing is disclosed by default."""

    identity: Identity | None = None
    birth_date: BirthDate | None = None
    contact: Contact | None = None
    face_photo: FacePhoto | None = None
    current_affiliation: CurrentAffiliation | None = None
    past_affiliations: PastAffiliations | None = None
    social_insurance: SocialInsurance | None = None
    qualifications: Qualifications | None = None
    education_training: EducationTraining | None = None
    work_history: WorkHistory | None = None
    level_occupation: LevelOccupation | None = None

    def sections(self) -> dict[FieldGroup, Section]:
        """The groups present, in group order (the order of their fields in the JSON)."""
        # attendance is outside the record (read from its own tables): it has no section here
        present = {group: getattr(self, group.value) for group in FieldGroup if group in RECORD_GROUPS}
        return {group: section for group, section in present.items() if section is not None}

    def without(self, groups: Collection[str]) -> TechnicianRecordView:
        """The same view with ``groups`` left out (for example the photo, which no ID token carries)."""
        return replace(self, **{g: None for g in RECORD_GROUPS if g in groups})

    def to_json(self) -> dict[str, Any]:
        """The JSON of the data API, the roster and the ``ccus`` claim."""
        out: dict[str, Any] = {}
        for section in self.sections().values():
            out.update(section.to_json())
        if self.contact is not None and self.contact.is_company:
            out["contact_is_company"] = True
        return out

    def field_names(self) -> list[str]:
        """The fields that leave with this view: what the disclosure record names (APPI art. 29)."""
        return list(self.to_json())


@dataclass(frozen=True)
class FullRecord:
    """Every group of a technician's record but the work history (which is read for the sites a
    decision names): the register's own view, never disclosed as a whole."""

    identity: Identity
    birth_date: BirthDate
    contact: Contact
    face_photo: FacePhoto
    current_affiliation: CurrentAffiliation
    past_affiliations: PastAffiliations
    social_insurance: SocialInsurance
    qualifications: Qualifications
    education_training: EducationTraining
    level_occupation: LevelOccupation

    def release(
        self, allowed: Collection[str], *, work_history: WorkHistory | None = None, contact: Contact | None = None
    ) -> TechnicianRecordView:
        """The sections of the ``allowed`` groups and no other: ``work_history`` and a substituted
        ``contact`` (rule 3) count only when their group is allowed too."""

        def allows(group: FieldGroup) -> bool:
            return group in allowed

        return TechnicianRecordView(
            identity=self.identity if allows(FieldGroup.identity) else None,
            birth_date=self.birth_date if allows(FieldGroup.birth_date) else None,
            contact=(contact or self.contact) if allows(FieldGroup.contact) else None,
            face_photo=self.face_photo if allows(FieldGroup.face_photo) else None,
            current_affiliation=self.current_affiliation if allows(FieldGroup.current_affiliation) else None,
            past_affiliations=self.past_affiliations if allows(FieldGroup.past_affiliations) else None,
            social_insurance=self.social_insurance if allows(FieldGroup.social_insurance) else None,
            qualifications=self.qualifications if allows(FieldGroup.qualifications) else None,
            education_training=self.education_training if allows(FieldGroup.education_training) else None,
            work_history=work_history if allows(FieldGroup.work_history) else None,
            level_occupation=self.level_occupation if allows(FieldGroup.level_occupation) else None,
        )
