"""Field groups, the unit of disclosure, and which group each field of the technician record is in."""

from __future__ import annotations

import enum


class FieldGroup(enum.StrEnum):
    identity = "identity"
    birth_date = "birth_date"
    contact = "contact"
    face_photo = "face_photo"
    current_affiliation = "current_affiliation"
    past_affiliations = "past_affiliations"
    social_insurance = "social_insurance"
    qualifications = "qualifications"
    education_training = "education_training"
    work_history = "work_history"
    level_occupation = "level_occupation"
    #: 勤怠 (issue 16): working days, hours, overtime findings and 建退共 days per month, read from the
    #: attendance summaries (register/attendance/), not from the technician record
    attendance = "attendance"


ALL_GROUPS: tuple[str, ...] = tuple(g.value for g in FieldGroup)
#: The groups of the technician record itself (``register.record_view``); attendance is read apart.
RECORD_GROUPS: tuple[str, ...] = tuple(g for g in ALL_GROUPS if g != FieldGroup.attendance)

#: Every field of the technician record, in exactly one group of RECORD_GROUPS (issue 4, item 1).
FIELD_GROUP: dict[str, FieldGroup] = {
    "technician_id": FieldGroup.identity,
    "name": FieldGroup.identity,
    "name_kana": FieldGroup.identity,
    "gender": FieldGroup.identity,
    "birth_date": FieldGroup.birth_date,
    "address": FieldGroup.contact,
    "phone": FieldGroup.contact,
    "face_photo": FieldGroup.face_photo,
    "current_employer": FieldGroup.current_affiliation,
    "past_employers": FieldGroup.past_affiliations,
    "health_insurance": FieldGroup.social_insurance,
    "pension_insurance": FieldGroup.social_insurance,
    "employment_insurance": FieldGroup.social_insurance,
    "kentaikyo": FieldGroup.social_insurance,
    "qualifications": FieldGroup.qualifications,
    "education": FieldGroup.education_training,
    "training": FieldGroup.education_training,
    "awards": FieldGroup.education_training,
    "work_history": FieldGroup.work_history,
    "level": FieldGroup.level_occupation,
    "occupations": FieldGroup.level_occupation,
}

#: 作業員名簿 (worker roster) fields a site's prime and upper-tier contractors may see (rule 2).
ROSTER_GROUPS: tuple[str, ...] = (
    FieldGroup.identity,
    FieldGroup.birth_date,
    FieldGroup.face_photo,
    FieldGroup.current_affiliation,
    FieldGroup.social_insurance,
    FieldGroup.qualifications,
    FieldGroup.level_occupation,
)

LABELS: dict[str, tuple[str, str]] = {
    "identity": ("氏名・技能者ID", "Name and technician ID"),
    "birth_date": ("生年月日", "Date of birth"),
    "contact": ("住所・電話番号", "Address and phone"),
    "face_photo": ("顔写真", "Face photo"),
    "current_affiliation": ("現在の所属事業者", "Current employer"),
    "past_affiliations": ("過去の所属事業者", "Past employers"),
    "social_insurance": ("社会保険・建退共の加入状況", "Social insurance and 建退共 status"),
    "qualifications": ("保有資格", "Qualifications"),
    "education_training": ("学歴・研修・表彰", "Education, training and awards"),
    "work_history": ("就業履歴", "Work history"),
    "level_occupation": ("レベル・職種", "Level and occupations"),
    "attendance": ("勤怠・時間外労働・建退共就労日数", "Attendance, overtime and 建退共 days"),
}


def fields_of(groups: set[str] | frozenset[str]) -> set[str]:
    return {field for field, group in FIELD_GROUP.items() if group in groups}
