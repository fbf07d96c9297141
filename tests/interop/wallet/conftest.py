"""Fixtures of the credential interoperability tests: the pinned npm packages of
tests/interop/wallet_js (installed by the test run with ``npm ci``, then used offline) and
technicians with offers on the live server of tests/interop/conftest.py (``live_server``)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from app.database import make_engine
from idp import accounts
from idp.passwords import Passwords
from idp.runtime import SystemRandomness
from idp.secretbox import derive_key
from tests.support.npm_dir import NodePackages, ToolchainError, ensure_packages
from tests.support.server import LiveServer
from wallet.offers import create_offer
from wallet.runtime import WalletConfig

WALLET_JS = Path(__file__).resolve().parent.parent / "wallet_js"
_ids = itertools.count(1)


@pytest.fixture(scope="session")
def wallet_js() -> NodePackages:
    try:
        return ensure_packages(WALLET_JS)
    except ToolchainError as exc:
        problem = str(exc)
    pytest.fail(problem, pytrace=False)


@pytest.fixture(scope="session")
def server_db(live_server: LiveServer) -> Iterator[Engine]:
    """The live server's own SQLite database (WAL: the server keeps serving while tests write)."""
    engine = make_engine(live_server.env["GENBA_DATABASE_URL"])
    yield engine
    engine.dispose()


@pytest.fixture
def offer_for(live_server: LiveServer, server_db: Engine) -> Callable[..., dict[str, Any]]:
    """A new technician and a credential offer for them: offer_uri, link, tx_code, technician_id.

    ``cli=True`` goes through the real ``genba admin create-technician`` and ``genba credentials
    offer --json``; otherwise the same library calls run here on the server's database (a CLI process
    costs a second or more: the suite stays fast while one test keeps the CLI path covered)."""
    passwords = Passwords(memory_kib=19 * 1024, time_cost=2, parallelism=1)

    def create(*configurations: str, cli: bool = False) -> dict[str, Any]:
        technician_id = f"{41000000000000 + next(_ids):014d}"
        wanted = list(configurations or ("ccus_card",))
        if cli:
            live_server.create_technician(
                technician_id=technician_id, name="佐藤 花子", kana="サトウ ハナコ", with_totp=False
            )
            args = ["credentials", "offer", "--technician-id", technician_id, "--json"]
            for configuration in wanted:
                args += ["--configuration", configuration]
            offer: dict[str, Any] = json.loads(live_server.genba(*args).stdout)
            return {**offer, "technician_id": technician_id}
        now = datetime.now(UTC)
        # the server's own key for pre-authorized codes, from the secret the test server runs with
        runtime = SimpleNamespace(
            config=WalletConfig(issuer=live_server.base_url),
            clock=lambda: datetime.now(UTC),
            code_key=derive_key(live_server.env["GENBA_SECRET_KEY"].encode(), "wallet-pre-authorized-code"),
        )
        with Session(server_db) as session:
            accounts.create_technician(
                session=session,
                technician_id=technician_id,
                name="佐藤 花子",
                name_kana="サトウ ハナコ",
                birth_date=date(1990, 6, 1),
                gender="female",
                address="東京都江東区東陽4-5-6",
                phone="090-1234-5678",
                password="correct horse battery staple",
                passwords=passwords,
                rng=SystemRandomness(),
                now=now,
            )
            new = create_offer(session, runtime, technician_id=technician_id, configuration_ids=wanted)  # type: ignore[arg-type]
            session.commit()
        return {"offer_uri": new.offer_uri, "link": new.link, "tx_code": new.tx_code, "technician_id": technician_id}

    return create
