"""The one course catalogue (docs/domain.md "Certificates" and "What a gate asks for"): the 労働安全衛生法
技能講習 and 特別教育 courses common in construction, each with its code, Japanese and English names and the
work it qualifies for, and the kinds of site work with the courses each needs.

The data is ``common/courses.json``. The reference source issues these codes, the connectors accept these
kinds, the wallet and the gate ask for and name these courses; the browser's copy
(``wallet/static/common/courses.js``) is generated from the same file (``python -m common.courses``) and a
test fails when it is stale. Before this catalogue the gate asked for ``kogata-crane`` and
``full-harness`` while the source issued ``kogata-idoshiki-crane`` and ``full-harness-tokubetsu``
(issue 15, Broken 1): a card shown as 有効 in the wallet was refused at the gate.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "courses.json"
#: The browser's generated copy, served at /common/courses.js with the other shared modules.
BROWSER_COPY = Path(__file__).resolve().parents[1] / "wallet" / "static" / "common" / "courses.js"


@dataclass(frozen=True)
class Course:
    """One course: ``kind`` is 技能講習 or 特別教育; ``work_ja``/``work_en`` the work it qualifies for."""

    code: str
    kind: str
    ja: str
    en: str
    work_ja: str
    work_en: str

    @property
    def name(self) -> str:
        """The course's name as printed on the certificate (講習の種類)."""
        return self.ja


@dataclass(frozen=True)
class WorkKind:
    """A kind of site work and the courses its gate asks certificates for."""

    code: str
    ja: str
    en: str
    requires: tuple[str, ...]


def _load() -> tuple[dict[str, str], dict[str, Course], dict[str, WorkKind]]:
    raw: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    kinds: dict[str, str] = dict(raw["kinds"])
    courses: dict[str, Course] = {}
    for c in raw["courses"]:
        if c["kind"] not in kinds or c["code"] in courses:
            raise ValueError(f"courses.json: bad or repeated course {c['code']!r}")
        courses[c["code"]] = Course(c["code"], c["kind"], c["ja"], c["en"], c["work"]["ja"], c["work"]["en"])
    work_kinds: dict[str, WorkKind] = {}
    for w in raw["work_kinds"]:
        unknown = [code for code in w["requires"] if code not in courses]
        if unknown:
            raise ValueError(f"courses.json: work kind {w['code']!r} requires unknown courses {unknown}")
        work_kinds[w["code"]] = WorkKind(w["code"], w["ja"], w["en"], tuple(w["requires"]))
    return kinds, courses, work_kinds


#: 講習の種類 -> English
COURSE_KINDS: dict[str, str]
COURSES: dict[str, Course]
WORK_KINDS: dict[str, WorkKind]
COURSE_KINDS, COURSES, WORK_KINDS = _load()


def browser_module() -> str:
    """The browser's copy: the names per course and the courses per kind of work, as an ES module."""
    courses = {code: [c.ja, c.en] for code, c in COURSES.items()}
    kinds = {code: [w.ja, w.en, list(w.requires)] for code, w in WORK_KINDS.items()}
    return (
        "// @ts-check\n"
        "/* Genba ID: the course catalogue for the browser, GENERATED from common/courses.json by\n"
        " * `python -m common.courses`; do not edit (tests/unit/common/test_courses.py fails when stale). */\n\n"
        "/** @type {Record<string, [string, string]>} course code -> [ja, en] */\n"
        f"export const COURSES = {json.dumps(courses, ensure_ascii=False, indent=2)};\n"
        "/** @type {Record<string, [string, string, string[]]>} kind of work -> [ja, en, the courses it needs] */\n"
        f"export const WORK_KINDS = {json.dumps(kinds, ensure_ascii=False, indent=2)};\n"
    )


if __name__ == "__main__":  # pragma: no cover - the generator, run by hand after editing courses.json
    BROWSER_COPY.write_text(browser_module(), encoding="utf-8")
    sys.stdout.write(f"wrote {BROWSER_COPY}\n")
