"""The 作業員名簿 CSV row from the typed record (issue 13, item 1): the same cells as before, and empty
cells for a group the consent engine withheld (docs/domain.md rule 2; consent: nothing disclosed by
default, docs/security.md)."""

from __future__ import annotations

from consent.groups import ROSTER_GROUPS, FieldGroup
from register.roster_csv import ROSTER_CSV_COLUMNS, roster_row
from tests.unit.register.test_record_view import HISTORY, sample_record


def test_a_roster_row_has_the_trade_name_the_level_and_joined_occupations() -> None:
    """Rule 2: the roster groups give every column; the cells are what the dict-based CSV wrote."""
    view = sample_record().release(frozenset(ROSTER_GROUPS), work_history=HISTORY)
    assert roster_row(view) == {
        "technician_id": "10000000000001",
        "name": "鈴木 一郎",
        "name_kana": "スズキ イチロウ",
        "birth_date": "1985-04-12",
        "current_employer": "二次下請鳶工業",
        "level": "3",
        "occupations": "とび・型枠",
        "health_insurance": "enrolled",
        "pension_insurance": "enrolled",
        "employment_insurance": "exempt",
    }


def test_cells_of_a_withheld_group_are_empty() -> None:
    """Nothing disclosed by default: only the allowed group's cells are filled."""
    view = sample_record().release({FieldGroup.identity})
    row = roster_row(view)
    assert list(row) == list(ROSTER_CSV_COLUMNS)
    assert {k for k, v in row.items() if v} == {"technician_id", "name", "name_kana"}
