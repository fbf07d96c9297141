"""What the reference source holds: holders and their signed records.

Everything here is deterministic: the fixed people and their records are written out by hand
(the demo and the tests name them), the bulk holders and records come from ``random.Random(seed)``.
Only the signing keys (``keys.py``) are random, generated once per data directory.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from tools.reference_source.catalog import (
    BODIES,
    COURSES,
    CRANE,
    CRANE_OLD_KEY,
    JST,
    UNKNOWN,
    KeySlot,
    signing_slot,
)


@dataclass(frozen=True)
class Holder:
    name: str
    name_kana: str
    birth_date: str
    technician_id: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "name_kana": self.name_kana,
            "birth_date": self.birth_date,
            "technician_id": self.technician_id,
        }


@dataclass(frozen=True)
class Person:
    login: str
    pin: str
    holder: Holder


SUZUKI = Person("suzuki", "1234", Holder("鈴木 一郎", "スズキ イチロウ", "1985-04-12", "10000000000019"))
TAKAHASHI = Person("takahashi", "5678", Holder("髙橋　勇", "タカハシ　イサム", "1990-07-07", "10000000000027"))
FIXED_PEOPLE: dict[str, Person] = {p.login: p for p in (SUZUKI, TAKAHASHI)}
#: In 鈴木 一郎's list but someone else's: one kanji and the birth date differ, same reading.
OTHER_PERSON = Holder("鈴木 一朗", "スズキ イチロウ", "1987-09-30", None)

Defect = Literal["bad_signature", "unknown_body", "other_person", "expired_key", "revoked", "superseded"]


@dataclass(frozen=True)
class RecordSpec:
    """One record before signing. ``slot`` signs it; ``tamper`` replaces payload fields after signing."""

    payload: dict[str, Any]
    slot: KeySlot
    login: str | None = None  # whose /me/certificates list it is in
    defect: Defect | None = None
    tamper: dict[str, Any] = field(default_factory=dict)

    @property
    def record_id(self) -> str:
        return str(self.payload["record_id"])


def _payload(
    record_id: str, body_id: str, course: str, number: str, completed: date, iat: datetime, holder: Holder
) -> dict[str, Any]:
    body, c = BODIES[body_id], COURSES[course]
    return {
        "iss": body_id,
        "iat": int(iat.timestamp()),
        "record_id": record_id,
        "certificate_number": f"第{body.office}-{number}号",
        "course_kind": c.kind,
        "course_code": c.code,
        "course_name": c.name,
        "training_body": body.name,
        "completed_on": completed.isoformat(),
        "holder": holder.as_json(),
        "status": "valid",
        "supersedes": None,
    }


def _fixed(
    n: int,
    person: Person,
    body_id: str,
    course: str,
    number: str,
    completed: date,
    *,
    signed: date | None = None,
    holder: Holder | None = None,
    slot: KeySlot | None = None,
    defect: Defect | None = None,
    **overrides: Any,
) -> RecordSpec:
    iat = datetime.combine(signed or completed + timedelta(days=7), datetime.min.time(), JST) + timedelta(hours=10)
    payload = _payload(f"TR-{n:06d}", body_id, course, number, completed, iat, holder or person.holder)
    tamper = overrides.pop("tamper", {})
    payload.update(overrides)
    return RecordSpec(payload, slot or signing_slot(body_id, iat), person.login, defect, tamper)


# long: a table, one entry per fixed record (the good and the defective certificates the tests and the
# demo name by number); split, the numbering and the defects would no longer read side by side
def fixed_records() -> list[RecordSpec]:
    """鈴木 一郎's records (TR-000001..13, good and bad) then 髙橋　勇's (TR-000101..103), in API order."""
    s, t, d = SUZUKI, TAKAHASHI, date
    ashiba = COURSES["ashiba-tokubetsu"]
    return [
        _fixed(1, s, "jp.tokyo-kensetsu-gino", "tamakake", "0412", d(2012, 6, 15)),
        _fixed(2, s, CRANE, "kogata-idoshiki-crane", "1185", d(2019, 10, 18)),  # old crane key, while valid
        _fixed(3, s, "jp.kanagawa-kenki-kyoshu", "sharyokei-seichi-kussaku", "2203", d(2014, 9, 12)),
        _fixed(4, s, "jp.kensaibou-tokyo", "full-harness-tokubetsu", "5078", d(2019, 8, 20)),
        _fixed(5, s, "jp.saitama-rodo-anzen", "gas-yosetsu", "0736", d(2016, 3, 4)),
        _fixed(6, s, "jp.kensaibou-tokyo", "ashiba-shunin", "3391", d(2021, 2, 26)),
        # Signed as 足場の組立て等特別教育, then "upgraded" to a 作業主任者 course: the signature fails.
        _fixed(
            7,
            s,
            "jp.tokyo-kensetsu-gino",
            "katawaku-shiho-shunin",
            "0958",
            d(2020, 11, 13),
            defect="bad_signature",
            course_kind=ashiba.kind,
            course_code=ashiba.code,
            course_name=ashiba.name,
            tamper={
                "course_kind": "技能講習",
                "course_code": "katawaku-shiho-shunin",
                "course_name": COURSES["katawaku-shiho-shunin"].name,
            },
        ),
        _fixed(8, s, UNKNOWN, "kosho-sagyosha", "0021", d(2023, 7, 7), defect="unknown_body"),
        _fixed(
            9,
            s,
            "jp.kanagawa-kenki-kyoshu",
            "fuseichi-unpansha",
            "2471",
            d(2018, 5, 25),
            holder=OTHER_PERSON,
            defect="other_person",
        ),
        # Signed in 2024 with the crane school's old key, valid only until 2023-04-01 00:00 JST.
        _fixed(10, s, CRANE, "forklift", "1342", d(2024, 5, 17), slot=CRANE_OLD_KEY, defect="expired_key"),
        _fixed(
            11,
            s,
            "jp.saitama-rodo-anzen",
            "kosho-sagyosha",
            "0988",
            d(2018, 7, 6),
            defect="revoked",
            status="revoked",
            signed=d(2025, 2, 3),
        ),
        # 再交付: the old certificate stays "valid" at the source; the new one names it in "supersedes".
        _fixed(12, s, "jp.kensaibou-tokyo", "kogata-sharyokei-tokubetsu", "2046", d(2015, 5, 22), defect="superseded"),
        _fixed(
            13,
            s,
            "jp.kensaibou-tokyo",
            "kogata-sharyokei-tokubetsu",
            "6120",
            d(2015, 5, 22),
            signed=d(2022, 1, 14),
            supersedes="第11-2046号",
        ),
        _fixed(101, t, "jp.tokyo-kensetsu-gino", "katawaku-shiho-shunin", "1520", d(2017, 10, 6)),
        _fixed(102, t, "jp.kensaibou-tokyo", "ashiba-tokubetsu", "4410", d(2016, 6, 10)),
        _fixed(103, t, CRANE, "tamakake-1t-miman-tokubetsu", "2290", d(2024, 2, 9)),  # new crane key
    ]


_SURNAMES = (
    ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"), ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"),
    ("吉田", "ヨシダ"), ("山田", "ヤマダ"), ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"),
    ("井上", "イノウエ"), ("木村", "キムラ"), ("林", "ハヤシ"), ("斎藤", "サイトウ"), ("清水", "シミズ"),
    ("山崎", "ヤマザキ"), ("森", "モリ"), ("池田", "イケダ"), ("橋本", "ハシモト"), ("阿部", "アベ"),
)  # fmt: skip
_GIVEN = (
    ("健太", "ケンタ"), ("翔太", "ショウタ"), ("大輔", "ダイスケ"), ("誠", "マコト"), ("浩二", "コウジ"),
    ("達也", "タツヤ"), ("拓也", "タクヤ"), ("和也", "カズヤ"), ("剛", "ツヨシ"), ("隆", "タカシ"),
    ("修", "オサム"), ("博", "ヒロシ"), ("直樹", "ナオキ"), ("亮", "リョウ"), ("聡", "サトシ"),
    ("美咲", "ミサキ"), ("陽子", "ヨウコ"), ("由美", "ユミ"), ("恵", "メグミ"), ("真由美", "マユミ"),
    ("勇気", "ユウキ"), ("健", "ケン"),
)  # fmt: skip


def people(seed: int, n: int) -> list[dict[str, Any]]:
    """``n`` generated holders (name, name_kana, birth_date, technician_id "2" + 13 digits).

    Stable: ``people(seed, n)`` is a prefix of ``people(seed, n + k)``; technician ids are unique.
    """
    rng = random.Random(seed)  # noqa: S311  (reproducible test data, not secrets)
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for _ in range(n):
        (sur, sur_kana), (given, given_kana) = rng.choice(_SURNAMES), rng.choice(_GIVEN)
        born = date(1955, 1, 1) + timedelta(days=rng.randrange(365 * 50))
        tid = "2" + "".join(rng.choice("0123456789") for _ in range(13))
        while tid in seen:
            tid = "2" + "".join(rng.choice("0123456789") for _ in range(13))
        seen.add(tid)
        out.append(
            {
                "name": f"{sur} {given}",
                "name_kana": f"{sur_kana} {given_kana}",
                "birth_date": born.isoformat(),
                "technician_id": tid,
            }
        )
    return out


def bulk_records(seed: int, count: int) -> list[RecordSpec]:
    """``count`` valid records for ``people(seed, …)``: 1–3 different courses each, in a stable order."""
    rng = random.Random(seed + 1_000_003)  # noqa: S311  (reproducible test data)
    holders = people(seed, count)
    published = [b for b in BODIES.values() if b.published]
    serial = {b.body_id: 100_000 for b in published}
    out: list[RecordSpec] = []
    for person in holders:
        if len(out) >= count:
            break
        holder = Holder(person["name"], person["name_kana"], person["birth_date"], person["technician_id"])
        taken: set[str] = set()
        for _ in range(min(rng.randint(1, 3), count - len(out))):
            body = rng.choice(published)
            course = rng.choice([c for c in body.courses if c not in taken] or list(body.courses))
            taken.add(course)
            completed = date(2012, 4, 1) + timedelta(days=rng.randrange(365 * 13))
            iat = datetime.combine(completed, datetime.min.time(), JST) + timedelta(
                days=rng.randint(1, 14), seconds=rng.randrange(9 * 3600, 18 * 3600)
            )
            serial[body.body_id] += 1
            payload = _payload(
                f"TR-B{len(out) + 1:07d}", body.body_id, course, str(serial[body.body_id]), completed, iat, holder
            )
            out.append(RecordSpec(payload, signing_slot(body.body_id, iat)))
    return out
