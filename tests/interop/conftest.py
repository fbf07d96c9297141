"""Fixtures for the interoperability tests: the npm packages (installed by the test run itself),
one live server per session (per xdist worker), technicians and clients created through the CLI.

Node.js and npm are required: without them the tests fail, they are not skipped.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest

from tests.interop.harness import NodeRP, NodeToolchain, Technician, ToolchainError, ensure_node_modules
from tests.support.server import LiveServer, start_server, stop_server

LIBRARIES = ("openid-client", "oauth4webapi")
#: Each library authenticates with a different one of the provider's secret-based methods.
SECRET_AUTH_METHOD = {"openid-client": "client_secret_basic", "oauth4webapi": "client_secret_post"}
REDIRECT_URI = "https://rp.genba-interop.test/callback"
#: The company whose own systems the relying parties are, and for which every test technician works:
#: a technician's standard claims leave only through the consent engine (issue 12 hole 2), whose
#: relationship rules let an employer's own system read its technicians' claims.
EMPLOYER_ID = "32000000000016"


@pytest.fixture(scope="session")
def node_toolchain() -> NodeToolchain:
    try:
        return ensure_node_modules()
    except ToolchainError as exc:
        problem = str(exc)
    pytest.fail(problem, pytrace=False)  # outside the except block: no chained traceback


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("interop-server"))
    try:
        # A signing key, provisioned as an operator would. Without it the first token request
        # would hit the bootstrap bug that test_first_token_request_on_a_fresh_server documents.
        server.genba("keys", "rotate", "--delay-hours", "0", "--json")
        server.create_employer(employer_id=EMPLOYER_ID, trade_name="株式会社 連携建設")
        yield server
    finally:
        stop_server(server)


_technician_ids = itertools.count(1)


@pytest.fixture
def make_technician(live_server: LiveServer) -> Callable[..., Technician]:
    """A technician with password + TOTP from ``genba admin create-technician --with-totp --json``,
    employed by ``EMPLOYER_ID``; one per flow, since a TOTP code is accepted once per 30-second step
    per account."""

    def create(*, name: str = "山田 太郎", kana: str = "ヤマダ タロウ", **options: Any) -> Technician:
        technician_id = f"{40000000000000 + next(_technician_ids):014d}"
        data = live_server.create_technician(technician_id=technician_id, name=name, kana=kana, **options)
        assert data["username"] == technician_id, data
        live_server.link_affiliation(technician_id=technician_id, employer_id=EMPLOYER_ID, start="2020-04-01")
        return Technician(technician_id, name, kana, data["password"], data["totp_secret"])

    return create


@pytest.fixture(scope="session", params=LIBRARIES)
def library(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="session")
def rp(node_toolchain: NodeToolchain, live_server: LiveServer, library: str) -> NodeRP:
    """A confidential client (authorization_code + refresh_token) registered with the CLI, played by ``library``:
    the own system of ``EMPLOYER_ID``."""
    method = SECRET_AUTH_METHOD[library]
    created = live_server.create_client(
        name=f"{library} 連携テスト", redirect_uris=[REDIRECT_URI], auth_method=method, owner_employer_id=EMPLOYER_ID
    )
    assert created["token_endpoint_auth_method"] == method and created.get("client_secret"), created
    return NodeRP(
        toolchain=node_toolchain,
        library=library,
        issuer=live_server.base_url,
        client_id=created["client_id"],
        client_auth={"method": method, "client_secret": created["client_secret"]},
        redirect_uri=REDIRECT_URI,
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the server's log to a failed test's report."""
    report: pytest.TestReport = yield
    server = getattr(item, "funcargs", {}).get("live_server")
    if report.failed and isinstance(server, LiveServer):
        report.sections.append(("live server log (tail)", server.log_tail()))
    return report
