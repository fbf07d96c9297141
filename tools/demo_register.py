"""Demo data around the demo technician: record details, a site run by a prime contractor, a system
that asks for consent, so ``make demo`` shows the consent inbox and the roster rules at work. Built
with the world builder (tools/world.py), as the tests' data is."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from common.japan_time import local_date
from consent.policy import PolicyEngine
from consent.ports import ConsentError, Party
from consent.service import ConsentService
from idp.runtime import Clock, Randomness
from register import repository as register
from register.directory import RegisterDirectory
from tools.world import World

PRIME_ID = "31000000000034"
SITE_ID = "GENBA-2026-0001"
DEMO_CLIENT = "安全書類クラウド（デモ）"


def load_register_demo(
    *, session: Session, engine: Engine, technician_id: str, employer_id: str, clock: Clock, rng: Randomness
) -> None:
    now = clock()
    if register.find_site(session=session, site_id=SITE_ID) is not None:
        return
    world = World(session, clock=clock, rng=rng)
    (
        world.employer(PRIME_ID, "株式会社 東京ゼネコン", address="東京都千代田区丸の内1-1-1", phone="03-0000-1111")
        .record(
            technician_id,
            level=2,
            occupations=["型枠大工"],
            health_insurance="enrolled",
            pension_insurance="enrolled",
            employment_insurance="enrolled",
            kentaikyo=True,
            qualifications=[
                {"kind": "技能講習", "name": "玉掛け技能講習", "number": "第12-3456号", "date": "2015-06-20"},
                {"kind": "特別教育", "name": "フルハーネス型墜落制止用器具特別教育", "date": "2019-08-02"},
            ],
            training=[{"name": "職長・安全衛生責任者教育", "date": "2021-11-10"}],
        )
        .site(
            SITE_ID,
            "新砂物流センター新築工事",
            prime=PRIME_ID,
            starts_on=now.date() - timedelta(days=60),
            ends_on=now.date() + timedelta(days=300),
            address="東京都江東区新砂3-1",
        )
        .tier(SITE_ID, employer_id, parent=PRIME_ID)
        .assignment(SITE_ID, technician_id, employer=employer_id, start=now.date() - timedelta(days=30), role="職長")
        .client(DEMO_CLIENT, ["http://127.0.0.1:8765/callback"], owner_employer=PRIME_ID)
    )
    session.commit()
    client_id = world.clients[DEMO_CLIENT].client.client_id
    service = ConsentService(engine, RegisterDirectory(engine), PolicyEngine())
    with contextlib.suppress(ConsentError):  # demo data only: an existing request is fine
        service.request(
            Party("client", client_id, acting_for=Party("company", PRIME_ID)),
            [technician_id],
            ["qualifications", "education_training"],
            "安全書類（作業員名簿・資格者証）の作成",
            local_date(now),  # Japan's calendar, as the engine's: UTC's date is "the past" from 00:00 to 09:00 JST
            date(now.year + 1, 3, 31),
            now=now,
        )
