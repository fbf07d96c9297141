"""CSV cells are neutralised against formula injection (OWASP "CSV Injection"; idp/csv_export.py)."""

from __future__ import annotations

import csv
import io

import pytest

from idp.csv_export import safe_cell, write_csv


@pytest.mark.parametrize(
    "value",
    ["=1+1", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1", "\n=1", "＝1+1", "＋1", "－1", "＠SUM(A1)", "=cmd|'/C calc'!A0"],
)
def test_a_cell_a_spreadsheet_would_run_is_quoted(value: str) -> None:
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["山田 太郎", "1985-04-12", "10000000000019", "a=b", " =1", "", "'=1"])
def test_other_cells_are_left_alone(value: str) -> None:
    assert safe_cell(value) == value


def test_none_and_numbers_become_text() -> None:
    assert safe_cell(None) == "" and safe_cell(2) == "2" and safe_cell(-3) == "'-3"


def test_write_csv_quotes_separators_and_neutralises_every_cell() -> None:
    text = write_csv(["name", "=x"], [{"name": '=HYPERLINK("a,b")'}, {"name": "佐藤", "=x": "@y"}])
    assert list(csv.reader(io.StringIO(text))) == [
        ["name", "'=x"],
        ['\'=HYPERLINK("a,b")', ""],
        ["佐藤", "'@y"],
    ]
