"""CSV files for spreadsheets, with every cell neutralised against formula injection.

Names, trade names and anything else a person typed end up in cells; a spreadsheet runs a cell
that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (``=HYPERLINK(...)`` leaks data,
``=cmd|' /C calc'!A0`` runs a program through DDE), and tab or carriage return at the start of a
cell has the same effect in some programs. OWASP "CSV Injection": prefix such a cell with a single
quote, so it is shown as text. Japanese spreadsheets also read the full-width forms (``＝``, ``＋``,
``－``, ``＠``) as the ASCII ones, so those are treated the same. Quoting of separators and quotes
is the csv module's (RFC 4180). Every CSV the service writes goes through :func:`write_csv`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence

#: a cell starting with one of these is read as a formula by some spreadsheet
FORMULA_STARTS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")


def safe_cell(value: object) -> str:
    """The text of ``value`` for a CSV cell, prefixed with ``'`` if a spreadsheet would run it."""
    text = "" if value is None else str(value)
    if text and text[0] in FORMULA_STARTS:
        return "'" + text
    return text


def write_csv(fields: Sequence[str], rows: Iterable[Mapping[str, object]]) -> str:
    """A header line with ``fields``, then one line per row (missing keys are empty cells)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(name) for name in fields])
    for row in rows:
        writer.writerow([safe_cell(row.get(name)) for name in fields])
    return out.getvalue()
