"""Account repository rules on SQLite and PostgreSQL (issue 2, items 4-5)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from idp import accounts
from idp.accounts import ImmutableFieldError
from idp.models import Account, Affiliation, Technician
from idp.passwords import Passwords
from idp.runtime import SystemRandomness
from idp.validation import FieldProblem
from tests.support.clock import FrozenClock

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _tech(db: Session, passwords: Passwords, clock: FrozenClock, **over: object) -> tuple[Account, Technician]:
    values: dict[str, object] = dict(
        technician_id="10000000000019",
        name="鈴木 一郎",
        name_kana="スズキ イチロウ",
        birth_date=date(1985, 4, 12),
        gender="male",
        address="東京都江東区",
        phone="090-1234-5678",
        password="long enough pw",
    )
    values.update(over)
    return accounts.create_technician(session=db, passwords=passwords, rng=SystemRandomness(), now=clock(), **values)  # type: ignore[arg-type]


def test_full_width_technician_id_is_normalised(db: Session, passwords: Passwords, clock: FrozenClock) -> None:
    account, technician = _tech(db, passwords, clock, technician_id="1000 0000 0000 19".translate(FULL_WIDTH))
    db.commit()
    assert technician.technician_id == "10000000000019" == account.username


@pytest.mark.parametrize("bad", ["1234567890123", "123456789012345", "1000000000001a", "", "٠١٢٣٤٥٦٧٨٩٠١٢٣"])
def test_wrong_technician_ids_are_refused(db: Session, passwords: Passwords, clock: FrozenClock, bad: str) -> None:
    with pytest.raises(FieldProblem) as info:
        _tech(db, passwords, clock, technician_id=bad)
    assert info.value.field == "technician_id"


def test_duplicate_technician_is_refused_and_nothing_is_stored(
    db: Session, passwords: Passwords, clock: FrozenClock
) -> None:
    _tech(db, passwords, clock)
    db.commit()
    with pytest.raises(FieldProblem, match="already registered"):
        _tech(db, passwords, clock, technician_id="10000000000019")
    db.rollback()
    assert len(db.exec(select(Account)).all()) == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "鈴木\x00一郎"),
        ("name", "鈴木\u202e一郎"),
        ("address", "x" * 301),
        ("name_kana", "すずき"),
        ("phone", "call me"),
        ("gender", "robot"),
    ],
)
def test_bad_fields_are_refused(db: Session, passwords: Passwords, clock: FrozenClock, field: str, value: str) -> None:
    with pytest.raises(FieldProblem) as info:
        _tech(db, passwords, clock, **{field: value})
    assert info.value.field == field
    db.rollback()
    assert db.exec(select(Account)).all() == []


def test_birth_date_cannot_change_after_registration(db: Session, passwords: Passwords, clock: FrozenClock) -> None:
    """docs/domain.md, facts about records: 生年月日 and 顔写真 are unchangeable after registration."""
    _, technician = _tech(db, passwords, clock, face_photo=PNG)
    db.commit()
    technician.birth_date = date(1990, 1, 1)
    db.add(technician)
    with pytest.raises(ImmutableFieldError):
        db.commit()
    db.rollback()
    technician = db.exec(select(Technician)).one()
    technician.face_photo = b"\xff\xd8\xff" + b"\x00" * 10
    db.add(technician)
    with pytest.raises(ImmutableFieldError):
        db.commit()
    db.rollback()
    stored = db.exec(select(Technician)).one()
    assert stored.birth_date == date(1985, 4, 12) and stored.face_photo == PNG


def test_other_fields_can_change(db: Session, passwords: Passwords, clock: FrozenClock) -> None:
    _, technician = _tech(db, passwords, clock)
    db.commit()
    technician.address = "大阪府大阪市"
    db.add(technician)
    db.commit()
    assert db.exec(select(Technician)).one().address == "大阪府大阪市"


def test_photo_must_be_jpeg_or_png(db: Session, passwords: Passwords, clock: FrozenClock) -> None:
    with pytest.raises(FieldProblem, match="JPEG or PNG"):
        _tech(db, passwords, clock, face_photo=b"GIF89a....")


def test_affiliation_history_is_kept(db: Session, passwords: Passwords, clock: FrozenClock) -> None:
    now = clock()
    for eid, name in (("31000000000018", "株式会社 山田工務店"), ("31000000000026", "佐藤鉄筋")):
        accounts.create_employer(
            session=db, employer_id=eid, trade_name=name, address="東京都", phone="03-1234-5678", now=now
        )
    _, technician = _tech(db, passwords, clock)
    accounts.link_affiliation(
        session=db, technician_id="10000000000019", employer_id="31000000000018", start_date=date(2019, 4, 1), now=now
    )
    accounts.link_affiliation(
        session=db,
        technician_id="10000000000019",
        employer_id="31000000000026".translate(FULL_WIDTH),
        start_date=date(2024, 10, 1),
        now=now,
    )
    db.commit()
    assert technician.id is not None
    history = accounts.affiliation_history(session=db, technician_pk=technician.id)
    assert [(e.employer_id, a.start_date, a.end_date) for a, e in history] == [
        ("31000000000026", date(2024, 10, 1), None),
        ("31000000000018", date(2019, 4, 1), date(2024, 9, 30)),
    ]
    with pytest.raises(FieldProblem, match="after the current"):
        accounts.link_affiliation(
            session=db,
            technician_id="10000000000019",
            employer_id="31000000000018",
            start_date=date(2020, 1, 1),
            now=now,
        )
    assert len(db.exec(select(Affiliation)).all()) == 2


def test_staff_sign_in_name_is_employer_id_and_login(db: Session, passwords: Passwords, clock: FrozenClock) -> None:
    accounts.create_employer(
        session=db,
        employer_id="31000000000018",
        trade_name="山田工務店",
        address="東京都",
        phone="03-1234-5678",
        now=clock(),
    )
    account, staff = accounts.create_staff(
        session=db,
        employer_id="31000000000018",
        login="Tanaka",
        display_name="田中 太郎",
        role="admin",
        email="Tanaka@Example.JP",
        password="long enough pw",
        passwords=passwords,
        rng=SystemRandomness(),
        now=clock(),
    )
    db.commit()
    assert account.username == "31000000000018-tanaka" and staff.role == "admin"
    assert accounts.find_login_account(session=db, username="tanaka@example.jp") is not None
    assert accounts.find_login_account(session=db, username="31000000000018-TANAKA") is not None
    with pytest.raises(FieldProblem, match="not a registered employer"):
        accounts.create_staff(
            session=db,
            employer_id="99999999999999",
            login="x",
            display_name="x",
            role="staff",
            password="long enough pw",
            passwords=passwords,
            rng=SystemRandomness(),
            now=clock(),
        )


def test_password_policy(db: Session, passwords: Passwords, clock: FrozenClock) -> None:
    for weak in ("short", "10000000000019", "aaaaaaaaaaaa"):
        with pytest.raises(FieldProblem) as info:
            _tech(db, passwords, clock, password=weak)
        assert info.value.field == "password"
