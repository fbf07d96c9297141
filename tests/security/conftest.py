"""Security tests (issue 12): each performs an attack over HTTP against a real server process
started with the demo data (``genba demo --no-serve``) and asserts the refusal.

One server per test session (per xdist worker). Tests that sign in create their own people
through the real CLI, because a TOTP code is accepted once (RFC 6238 §5.2) and a shared account
would make tests depend on each other.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.http_user import Credentials, HttpUser
from tests.support.server import LiveServer, start_server, stop_server

DEMO_EMPLOYER = "31000000000018"  # 株式会社 山田工務店 (tools/demo.py)
DEMO_PRIME = "31000000000034"  # 株式会社 東京ゼネコン, prime of the demo site
DEMO_SITE = "GENBA-2026-0001"
DEMO_TECHNICIAN = "10000000000019"

_ids = itertools.count(1)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("security-server"))
    try:
        live.genba("demo", "--no-serve", "--json")
        yield live
    finally:
        stop_server(live)


@pytest.fixture
def users() -> Iterator[Callable[..., HttpUser]]:
    """``users(server, credentials)``: an HTTP user, closed after the test."""
    made: list[HttpUser] = []

    def make(server: LiveServer, who: Credentials | None = None) -> HttpUser:
        user = HttpUser(server, who)
        made.append(user)
        return user

    yield make
    for user in made:
        user.close()


@pytest.fixture
def technician(server: LiveServer) -> Callable[..., Credentials]:
    """A new technician (with TOTP) made through ``genba admin create-technician``, optionally
    employed by ``employer_id`` from 2020-04-01."""

    def create(*, employer_id: str | None = DEMO_EMPLOYER, **options: Any) -> Credentials:
        technician_id = f"{40000000000000 + next(_ids) * 7919:014d}"
        data = server.create_technician(
            technician_id=technician_id,
            name=options.pop("name", "山本 太郎"),
            kana=options.pop("kana", "ヤマモト タロウ"),
            **options,
        )
        if employer_id:
            server.link_affiliation(technician_id=technician_id, employer_id=employer_id, start="2020-04-01")
        return Credentials(technician_id, data["password"], data["totp_secret"])

    return create


@pytest.fixture
def staff(server: LiveServer) -> Callable[..., Credentials]:
    """New employer staff (``role`` admin or staff) of ``employer_id``, with TOTP."""

    def create(*, employer_id: str = DEMO_EMPLOYER, role: str = "admin") -> Credentials:
        login = f"sec{next(_ids)}"
        data = server.create_staff(employer_id=employer_id, login=login, display_name="試験 担当", role=role)
        return Credentials(data["username"], data["password"], data["totp_secret"])

    return create


@pytest.fixture
def client_app(server: LiveServer) -> Callable[..., dict[str, Any]]:
    """A registered relying party (``genba admin create-client``); the JSON has client_id and secret."""

    def create(**options: Any) -> dict[str, Any]:
        options.setdefault("name", f"試験システム{next(_ids)}")
        options.setdefault("redirect_uris", ["https://rp.example/cb"])
        return server.create_client(**options)

    return create


def demo_accounts(server: LiveServer) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(server.genba("demo", "--no-serve", "--json").stdout)
    return data
