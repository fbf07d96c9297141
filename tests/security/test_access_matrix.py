"""Issue 12, "An access-control matrix test": every route of the application × every kind of caller,
probed over HTTP against a real server on SQLite and on PostgreSQL, each cell compared with the
outcome ``access_matrix.py`` expects for it.

The route table comes from ``create_app(settings)`` itself (every path × method), so a route
added without a row fails :func:`test_every_route_has_a_row` (and the matrix test) with its name.
One server and one world per backend, for the module; each caller signs in (or gets its token) once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from app.factory import create_app
from app.settings import Settings
from tests.security.access_matrix import CALLERS, COOKIE_CALLERS, PUBLIC, ROWS, Outcome, Row
from tests.security.access_world import SERVER_ENV, Caller, World, build_world
from tests.support.live_backends import server_on

BACKENDS = ["sqlite", "postgresql"]

IGNORED_METHODS = {"HEAD", "OPTIONS"}  # Starlette answers them for every GET route by itself


def application(tmp: Path) -> FastAPI:
    """The application exactly as ``genba serve`` builds it (nothing is served or migrated here)."""
    settings = Settings(
        environment="test",
        database_url=f"sqlite:///{tmp / 'routes.sqlite3'}",
        issuer="http://localhost",
        secret_key="route-table-secret-0123456789-abcdefghijkl",
        secret_file=tmp / "secret.key",
    )  # type: ignore[call-arg]
    return create_app(settings)


def route_table(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the application serves, mounts (static files) as GET."""
    table: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        methods = set(route.methods or {"GET"}) - IGNORED_METHODS
        table.update((method, str(route.path)) for method in methods)
    return table


def missing_rows(table: set[tuple[str, str]]) -> list[str]:
    """Each route without a row or a PUBLIC entry, and each row naming no caller's outcome."""
    covered = {(row.method, row.path) for row in ROWS} | set(PUBLIC)
    problems = [
        f"{method} {path} has no row in tests/security/access_matrix.py" for method, path in sorted(table - covered)
    ]
    for row in ROWS:
        problems += [f"{row.method} {row.path} has no outcome for {c}" for c in CALLERS if c not in row.expect]
    problems += [f"{m} {p} is in the matrix but not in the application" for m, p in sorted(covered - table)]
    return problems


def test_every_route_has_a_row(tmp_path: Path) -> None:
    """A new endpoint cannot skip the matrix: each (method, path) of the route table has a row (or is
    declared public), and each row names the outcome of every kind of caller."""
    problems = missing_rows(route_table(application(tmp_path)))
    assert not problems, "\n".join(problems)


def test_a_route_without_a_row_fails_and_is_named(tmp_path: Path) -> None:
    """The check itself: an endpoint added to the application without a row is reported by name."""
    app = application(tmp_path)

    def unlisted() -> dict[str, str]:
        return {}

    app.add_api_route("/api/v1/unlisted/{thing}", unlisted, methods=["POST", "DELETE"])
    assert missing_rows(route_table(app)) == [
        "DELETE /api/v1/unlisted/{thing} has no row in tests/security/access_matrix.py",
        "POST /api/v1/unlisted/{thing} has no row in tests/security/access_matrix.py",
    ]


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with server_on(request.param, tmp_path_factory.mktemp(f"matrix-{request.param}"), SERVER_ENV) as server:
        built = build_world(server)
        try:
            yield built
        finally:
            built.close()


def _fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format_map(values)
    if isinstance(value, dict):
        return {_fill(k, values): _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value


def outcome(response: httpx.Response, detail: str = "") -> str:
    """The status, and for a redirect where it goes: a path on this server, or ``ext``."""
    if response.is_redirect:
        location = urlsplit(response.headers.get("location", ""))
        where = location.path if not location.netloc or location.hostname == "localhost" else "ext"
        return f"{response.status_code}→{where}"
    if detail and response.status_code == 200:
        return f"200 {detail}={response.json().get(detail)}"
    return str(response.status_code)


def probe(http: httpx.Client, world: World, row: Row, caller: Caller) -> str:
    values = {**world.values, "caller": caller.name}
    url = _fill(row.probe or row.path, values)
    headers = {**caller.headers, **row.headers, "Origin": world.server.base_url, "Sec-Fetch-Site": "same-origin"}
    kwargs: dict[str, Any] = {}
    if row.form is not None:
        form = {"probe": "1", **_fill(row.form, values)}  # never empty: always a form
        if caller.name in COOKIE_CALLERS:
            form["csrf_token"] = caller.csrf
        kwargs["data"] = form
    elif row.json is not None:
        kwargs["content"] = json.dumps(_fill(row.json, values))
        headers["Content-Type"] = "application/json"
    if caller.name in COOKIE_CALLERS:
        headers["X-CSRF-Token"] = caller.csrf
    if caller.cookies:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in caller.cookies.items())
    http.cookies.clear()  # what an earlier answer set must not travel with the next caller's request
    for attempt in (1, 2):  # the second on a new connection, if a 500 before this one broke the old
        try:
            response = http.request(row.method, url, headers=headers, **kwargs)
            break
        except httpx.TransportError as exc:
            if attempt == 2:  # a 500 that broke the connection: a cell like any other
                return f"no answer ({type(exc).__name__})"
    return outcome(response, row.detail)


def run_matrix(world: World) -> dict[tuple[str, str], dict[str, str]]:
    """Every cell, rows in order (the ``last`` rows after the others), callers in ``CALLERS`` order."""
    observed: dict[tuple[str, str], dict[str, str]] = {}
    rows = [r for r in ROWS if not r.last] + [r for r in ROWS if r.last]
    with httpx.Client(base_url=world.server.base_url, timeout=30.0, follow_redirects=False) as http:
        for (method, path), (url, _) in PUBLIC.items():
            observed[(method, path)] = {"anonymous": outcome(http.request(method, url))}
        for row in rows:
            observed[(row.method, row.path)] = {c: probe(http, world, row, world.callers[c]) for c in CALLERS}
    return observed


def _expected(value: Outcome) -> str:
    return str(value)


def test_access_matrix(world: World, tmp_path: Path) -> None:
    """Each cell answers as the matrix says; the failure lists every cell that does not, as
    ``METHOD path  caller: expected X, got Y``."""
    assert not missing_rows(route_table(application(tmp_path))), "see test_every_route_has_a_row"
    observed = run_matrix(world)
    wrong: list[str] = []
    for (method, path), (_, status) in PUBLIC.items():
        got = observed[(method, path)]["anonymous"]
        if got != str(status):
            wrong.append(f"{method} {path}  anonymous: expected {status}, got {got}")
    for row in ROWS:
        got_row = observed[(row.method, row.path)]
        for caller in CALLERS:
            if got_row[caller] != _expected(row.expect[caller]):
                wrong.append(f"{row.method} {row.path}  {caller}: expected {row.expect[caller]}, got {got_row[caller]}")
    assert not wrong, f"{len(wrong)} cells differ from tests/security/access_matrix.py:\n" + "\n".join(wrong)
