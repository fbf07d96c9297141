"""The catalogue: courses (技能講習 and 特別教育 common in construction, from ``common/courses.py``) and
training bodies.

Each body signs its records with its own key; a body's keys and their validity are what the
operator copies into Genba ID's trust list from ``/api/v1/bodies``. One body rotated its key;
one body signs records but is not published at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from common import courses as catalogue
from common.courses import Course

JST = timezone(timedelta(hours=9), "JST")


#: The courses: the one catalogue (``common/courses.py``) the connectors, the wallet and the gate read, so
#: every code the source issues is one the gate can ask for (issue 15, Broken 1).
COURSES: dict[str, Course] = catalogue.COURSES


@dataclass(frozen=True)
class KeySlot:
    """One signing key of a body: ``slot`` names its file; validity is what the trust list publishes."""

    slot: str
    body_id: str
    valid_from: datetime | None
    valid_until: datetime | None


@dataclass(frozen=True)
class Body:
    body_id: str
    name: str
    office: str  # two digits, the prefix of its certificate numbers (第13-0412号)
    courses: tuple[str, ...]
    keys: tuple[KeySlot, ...]
    published: bool = True


def _open_key(body_id: str) -> tuple[KeySlot, ...]:
    return (KeySlot(body_id, body_id, datetime(2010, 4, 1, tzinfo=JST), None),)


CRANE = "jp.nihon-crane-kenshu"
#: The crane school rotated its key on 2023-04-01: the old key signed records until then.
#: Validity is half-open: ``valid_from <= t < valid_until``.
CRANE_OLD_KEY = KeySlot(f"{CRANE}.2010", CRANE, datetime(2010, 4, 1, tzinfo=JST), datetime(2023, 4, 1, tzinfo=JST))
CRANE_NEW_KEY = KeySlot(CRANE, CRANE, datetime(2023, 4, 1, tzinfo=JST), None)
UNKNOWN = "jp.kanto-anzen-koshu"

BODIES: dict[str, Body] = {
    b.body_id: b
    for b in (
        Body(
            "jp.tokyo-kensetsu-gino",
            "一般社団法人 東京建設技能教育センター",
            "13",
            (
                "tamakake",
                "kogata-idoshiki-crane",
                "ashiba-shunin",
                "jiyama-dodome-shunin",
                "katawaku-shiho-shunin",
                "full-harness-tokubetsu",
                "ashiba-tokubetsu",
            ),
            _open_key("jp.tokyo-kensetsu-gino"),
        ),
        Body(
            CRANE,
            "株式会社 日本クレーン技術研修所",
            "27",
            ("tamakake", "kogata-idoshiki-crane", "forklift", "tamakake-1t-miman-tokubetsu"),
            (CRANE_OLD_KEY, CRANE_NEW_KEY),
        ),
        Body(
            "jp.kensaibou-tokyo",
            "建設業労働災害防止協会 東京支部",
            "11",
            (
                "ashiba-shunin",
                "jiyama-dodome-shunin",
                "katawaku-shiho-shunin",
                "full-harness-tokubetsu",
                "ashiba-tokubetsu",
                "kogata-sharyokei-tokubetsu",
            ),
            _open_key("jp.kensaibou-tokyo"),
        ),
        Body(
            "jp.kanagawa-kenki-kyoshu",
            "一般社団法人 神奈川建設機械教習所",
            "14",
            (
                "sharyokei-seichi-kussaku",
                "sharyokei-kaitai",
                "kosho-sagyosha",
                "fuseichi-unpansha",
                "forklift",
                "kogata-sharyokei-tokubetsu",
            ),
            _open_key("jp.kanagawa-kenki-kyoshu"),
        ),
        Body(
            "jp.saitama-rodo-anzen",
            "一般社団法人 埼玉労働安全衛生教育協会",
            "21",
            ("gas-yosetsu", "forklift", "kosho-sagyosha", "full-harness-tokubetsu"),
            _open_key("jp.saitama-rodo-anzen"),
        ),
        # Signs records but is on no trust list: the operator never heard of it.
        Body(UNKNOWN, "合同会社 関東安全講習センター", "31", ("kosho-sagyosha",), _open_key(UNKNOWN), published=False),
    )
}
KEY_SLOTS: tuple[KeySlot, ...] = tuple(slot for body in BODIES.values() for slot in body.keys)


def signing_slot(body_id: str, at: datetime) -> KeySlot:
    """The body's key that was valid at ``at``."""
    for slot in BODIES[body_id].keys:
        if (slot.valid_from is None or slot.valid_from <= at) and (slot.valid_until is None or at < slot.valid_until):
            return slot
    raise ValueError(f"{body_id} had no valid key at {at.isoformat()}")
