"""Demo data for ``make demo``: one employer and its admin, one technician, the prime contractor's gate staff,
built with the world builder (tools/world.py). Demo data is not the service: ``genba demo`` loads this
module inside the command (the import contract's named exception, pyproject.toml).

Loading is idempotent: a second run finds the accounts and prints the same details. When it serves, the demo
also runs the reference certificate source, trusted and connected (tools/demo_source.py).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import cast

from sqlalchemy import Engine
from sqlmodel import Session

from app import database
from app.settings import Settings
from idp import accounts, audit, totp
from idp.audit import AuditEvents
from idp.passwords import Passwords
from idp.runtime import Clock, Randomness
from idp.secretbox import SecretBox
from tools.demo_register import PRIME_ID, load_register_demo
from tools.demo_source import DemoSource, connect_settings, start_source, trust_source
from tools.world import Login, World

DEMO_PASSWORD = "genba-demo-2026"  # noqa: S105 - demo only; `genba demo` refuses to run in production
EMPLOYER_ID = "31000000000018"
TECHNICIAN_ID = "10000000000019"
STAFF_LOGIN = "admin"
GATE_LOGIN = "gate"  # staff of the prime contractor (株式会社 東京ゼネコン) who run the site gate


@dataclass(frozen=True)
class DemoAccount:
    role: str
    username: str
    password: str
    totp_secret: str
    display_name: str


def load_demo(
    *, session: Session, settings: Settings, passwords: Passwords, box: SecretBox, rng: Randomness, clock: Clock
) -> list[DemoAccount]:
    now = clock()
    world = World(session, clock=clock, passwords=passwords, rng=rng, box=box)
    if accounts.find_employer(session=session, employer_id=EMPLOYER_ID) is None:
        (
            world.employer(EMPLOYER_ID, "株式会社 山田工務店", address="東京都江東区新砂1-2-3", phone="03-1234-5678")
            .employer(
                "31000000000026",
                "佐藤鉄筋",
                address="千葉県市川市八幡2-4-6",
                phone="047-123-4567",
                sole_proprietor=True,
            )
            .technician(
                TECHNICIAN_ID,
                "鈴木 一郎",
                password=DEMO_PASSWORD,
                totp=True,
                employer=EMPLOYER_ID,
                since=date(2019, 4, 1),
            )
            .staff(
                EMPLOYER_ID,
                STAFF_LOGIN,
                "山田 花子",
                role="admin",
                email="hanako@yamada-koumuten.example",
                password=DEMO_PASSWORD,
            )
        )
        for login in (world.logins[TECHNICIAN_ID], world.logins[f"{EMPLOYER_ID}-{STAFF_LOGIN}"]):
            _created(session, login, now=now)
        session.commit()
    load_register_demo(
        session=session,
        engine=cast(Engine, session.get_bind()),
        technician_id=TECHNICIAN_ID,
        employer_id=EMPLOYER_ID,
        clock=clock,
        rng=rng,
    )
    gate_username = f"{PRIME_ID}-{GATE_LOGIN}"
    if accounts.find_login_account(session=session, username=gate_username) is None:
        world.staff(
            PRIME_ID, GATE_LOGIN, "高橋 誠", role="staff", email="gate@tokyo-genecon.example", password=DEMO_PASSWORD
        )
        _created(session, world.logins[gate_username], now=now)
        session.commit()
    result = []
    for role, username in (
        ("technician 技能者", TECHNICIAN_ID),
        ("employer admin 事業者管理者", f"{EMPLOYER_ID}-{STAFF_LOGIN}"),
        ("prime contractor gate staff 元請 ゲート担当", gate_username),
    ):
        found = accounts.find_login_account(session=session, username=username)
        assert found is not None and found.totp_secret_enc
        secret = box.open(found.totp_secret_enc).decode()
        result.append(DemoAccount(role, username, DEMO_PASSWORD, secret, found.display_name))
    return result


def _created(session: Session, login: Login, *, now: datetime) -> None:
    """A demo account's creation in the audit log, as for any other account (its TOTP enrolment is
    the world builder's)."""
    audit.record(
        session=session,
        event=AuditEvents.ACCOUNT_CREATED,
        outcome="success",
        now=now,
        account_id=login.account_id,
        subject=login.username,
        detail={"via": "demo"},
    )


def start_certificate_source(*, settings: Settings, port: int, clock: Clock) -> DemoSource:
    """The reference source on its own port, its bodies in the trust list and Genba ID connected to it
    (``GENBA_MYNAPORTAL_*`` in this process's environment, which the served application reads): what the
    walkthrough's certificate import needs (issue 15, Broken 2). Keys persist beside the secret key."""
    data_dir = settings.secret_file.parent / "demo-source"
    source = start_source(port=port, data_dir=data_dir, log_path=data_dir.parent / "demo-source.log")
    try:
        engine = database.make_engine(settings.database_url)
        try:
            with Session(engine) as session:
                trust_source(source, session=session, policy=settings.outbound_policy(), clock=clock)
                session.commit()
        finally:
            engine.dispose()
    except BaseException:
        source.stop()
        raise
    os.environ.update(connect_settings(source))
    return source


def current_codes(demo: list[DemoAccount], *, clock: Clock) -> dict[str, str]:
    return {d.username: totp.current_code(d.totp_secret, now=clock()) for d in demo}


def as_json(demo: list[DemoAccount]) -> list[dict[str, str]]:
    return [asdict(d) for d in demo]


__all__ = ["DemoAccount", "as_json", "current_codes", "load_demo", "start_certificate_source"]
