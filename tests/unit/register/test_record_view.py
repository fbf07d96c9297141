"""The technician record as a typed model (issue 13, item 1): one section per field group, JSON exactly
as the data API, the roster and the ``ccus`` claim have always carried it, and no section of a group the
consent engine did not allow (consent: nothing disclosed by default, docs/security.md "one disclosure
path"; docs/domain.md rules 1 and 3)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from consent.groups import FIELD_GROUP, RECORD_GROUPS, FieldGroup, fields_of
from register.record_view import (
    BirthDate,
    Contact,
    CurrentAffiliation,
    EducationTraining,
    Employment,
    FacePhoto,
    FullRecord,
    Identity,
    LevelOccupation,
    PastAffiliations,
    PastEmployment,
    Qualifications,
    SocialInsurance,
    TechnicianRecordView,
    WorkDay,
    WorkHistory,
)

EVERYTHING = frozenset(RECORD_GROUPS)
COMPANY = Contact(address="千葉県市川市3-3-3", phone="047-111-0003", is_company=True)


def sample_record() -> FullRecord:
    return FullRecord(
        identity=Identity("10000000000001", "鈴木 一郎", "スズキ イチロウ", "male"),
        birth_date=BirthDate(date(1985, 4, 12)),
        contact=Contact(address="東京都足立区9-9-9", phone="090-9999-0000"),
        face_photo=FacePhoto("data:image/png;base64,iVBORw0KGgo="),
        current_affiliation=CurrentAffiliation(Employment("20000000000003", "二次下請鳶工業", date(2026, 1, 1))),
        past_affiliations=PastAffiliations(
            (PastEmployment("20000000000007", "前所属建設", date(2020, 4, 1), date(2025, 12, 31)),)
        ),
        social_insurance=SocialInsurance("enrolled", "enrolled", "exempt", kentaikyo=True),
        qualifications=Qualifications(({"name": "玉掛け技能講習", "number": "Q-1"},)),
        education_training=EducationTraining(({"school": "工業高校"},), ({"course": "職長教育"},), ()),
        level_occupation=LevelOccupation(3, ("とび", "型枠")),
    )


HISTORY = WorkHistory(
    (
        WorkDay(
            day=date(2026, 11, 20),
            site_id="S1-KOTO-2026",
            site_name="江東区庁舎新築工事",
            entry_at=datetime(2026, 11, 20, tzinfo=UTC),
            exit_at=None,
            employer_id="20000000000003",
            tier=2,
            tier_companies=("20000000000001", "20000000000002", "20000000000003"),
            role="",
            work_content="",
            occupation="",
        ),
    )
)

#: The record's JSON as ``register.disclosure`` wrote it as a dict before the typed model (same keys,
#: same order, same values): what the data API, the roster and the ``ccus`` claim carry.
BEFORE: dict[str, Any] = {
    "technician_id": "10000000000001",
    "name": "鈴木 一郎",
    "name_kana": "スズキ イチロウ",
    "gender": "male",
    "birth_date": "1985-04-12",
    "address": "東京都足立区9-9-9",
    "phone": "090-9999-0000",
    "face_photo": "data:image/png;base64,iVBORw0KGgo=",
    "current_employer": {"employer_id": "20000000000003", "trade_name": "二次下請鳶工業", "since": "2026-01-01"},
    "past_employers": [
        {"employer_id": "20000000000007", "trade_name": "前所属建設", "from": "2020-04-01", "to": "2025-12-31"}
    ],
    "health_insurance": "enrolled",
    "pension_insurance": "enrolled",
    "employment_insurance": "exempt",
    "kentaikyo": True,
    "qualifications": [{"name": "玉掛け技能講習", "number": "Q-1"}],
    "education": [{"school": "工業高校"}],
    "training": [{"course": "職長教育"}],
    "awards": [],
    "work_history": [
        {
            "date": "2026-11-20",
            "site_id": "S1-KOTO-2026",
            "site_name": "江東区庁舎新築工事",
            "entry_at": "2026-11-20T00:00:00+00:00",
            "exit_at": None,
            "employer_id": "20000000000003",
            "tier": 2,
            "tier_companies": ["20000000000001", "20000000000002", "20000000000003"],
            "role": "",
            "work_content": "",
            "occupation": "",
        }
    ],
    "level": {"level": 3, "colour": "silver", "colour_ja": "銀"},
    "occupations": ["とび", "型枠"],
}


def _bytes(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False)


def test_a_record_released_whole_is_the_json_of_before() -> None:
    """Behaviour unchanged (issue 13): the typed record serialises to exactly the JSON the dict
    builder gave, key order included; the disclosure record names exactly its fields."""
    view = sample_record().release(EVERYTHING, work_history=HISTORY)
    assert _bytes(view.to_json()) == _bytes(BEFORE)
    assert view.field_names() == list(BEFORE)
    assert set(view.field_names()) == set(FIELD_GROUP)


def test_the_view_has_one_attribute_per_field_group() -> None:
    """Issue 4, item 1: every field in exactly one group; the view's sections are the groups."""
    assert [f.name for f in dataclasses.fields(TechnicianRecordView)] == list(RECORD_GROUPS)


@pytest.mark.parametrize("group", RECORD_GROUPS, ids=[f"only-{g}" for g in RECORD_GROUPS])
def test_a_single_allowed_group_discloses_its_fields_and_no_other(group: str) -> None:
    """Consent, nothing disclosed by default (docs/security.md): a release of one group carries that
    group's fields of ``consent.groups.FIELD_GROUP`` and nothing else; every other section is None."""
    view = sample_record().release(frozenset({group}), work_history=HISTORY, contact=COMPANY)
    assert set(view.sections()) == {group}
    assert [getattr(view, g) is None for g in RECORD_GROUPS] == [g != group for g in RECORD_GROUPS]
    expected = fields_of({group}) | ({"contact_is_company"} if group == FieldGroup.contact else set())
    assert set(view.to_json()) == expected


def test_nothing_is_disclosed_by_default() -> None:
    """Consent, nothing disclosed by default (docs/security.md): an empty view and a release of no
    group carry no field, whatever the record holds."""
    assert TechnicianRecordView().to_json() == {}
    view = sample_record().release(frozenset(), work_history=HISTORY, contact=COMPANY)
    assert view == TechnicianRecordView()
    assert view.field_names() == []


def test_a_withheld_group_is_absent() -> None:
    """docs/domain.md rule 1: a group the engine withheld is absent from the view and from its JSON, even
    when its data was at hand (the work history, a company contact)."""
    withheld = {FieldGroup.contact, FieldGroup.work_history, FieldGroup.past_affiliations}
    view = sample_record().release(EVERYTHING - withheld, work_history=HISTORY, contact=COMPANY)
    assert view.contact is None and view.work_history is None and view.past_affiliations is None
    assert set(view.to_json()) == set(FIELD_GROUP) - fields_of(withheld)
    assert _bytes(view.to_json()) == _bytes({k: v for k, v in BEFORE.items() if k in view.to_json()})


def test_the_company_contact_replaces_the_technicians_and_is_marked_last() -> None:
    """docs/domain.md rule 3: the company's address and phone in the technician's place, and the marker
    ``contact_is_company`` after every field (where the dict builder appended it)."""
    view = sample_record().release(EVERYTHING, work_history=HISTORY, contact=COMPANY)
    data = view.to_json()
    assert (data["address"], data["phone"]) == (COMPANY.address, COMPANY.phone)
    assert list(data) == [*BEFORE, "contact_is_company"] and data["contact_is_company"] is True
    assert "contact_is_company" not in sample_record().release(EVERYTHING, work_history=HISTORY).to_json()


def test_without_leaves_out_only_the_named_groups() -> None:
    """The ID token never carries the photo (``register.claims``): ``without`` drops that group's
    fields and keeps every other one as it was."""
    view = sample_record().release(EVERYTHING, work_history=HISTORY).without({FieldGroup.face_photo})
    assert view.face_photo is None
    assert view.to_json() == {k: v for k, v in BEFORE.items() if k != "face_photo"}


def test_a_technician_between_employers_has_a_current_affiliation_of_none() -> None:
    """The group ``current_affiliation`` allowed but empty is ``"current_employer": null``, not an
    absent field (the group left; there was nothing in it)."""
    record = dataclasses.replace(sample_record(), current_affiliation=CurrentAffiliation(None))
    view = record.release({FieldGroup.current_affiliation})
    assert view.to_json() == {"current_employer": None}
