"""Demo data around the demo technician: record details, a site run by a prime contractor, a system
that asks for consent, so ``make demo`` shows the consent inbox and the roster rules at work."""

from __future__ import annotations

import contextlib
from datetime import date, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from common.japan_time import local_date
from consent.policy import PolicyEngine
from consent.ports import ConsentError, Party
from consent.service import ConsentService
from idp.oauth.public import create_client
from idp.public import Clock, Randomness, create_employer, find_employer
from register import repository as register
from register.directory import RegisterDirectory

PRIME_ID = "31000000000034"
SITE_ID = "GENBA-2026-0001"
DEMO_CLIENT = "安全書類クラウド（デモ）"


def load_register_demo(
    *, session: Session, engine: Engine, technician_id: str, employer_id: str, clock: Clock, rng: Randomness
) -> None:
    now = clock()
    if register.find_site(session=session, site_id=SITE_ID) is not None:
        return
    create_employer(
        session=session,
        employer_id=PRIME_ID,
        trade_name="株式会社 東京ゼネコン",
        address="東京都千代田区丸の内1-1-1",
        phone="03-0000-1111",
        now=now,
    )
    register.set_record(
        session=session,
        technician_id=technician_id,
        now=now,
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
    register.create_site(
        session=session,
        site_id=SITE_ID,
        name="新砂物流センター新築工事",
        prime_employer_id=PRIME_ID,
        starts_on=now.date() - timedelta(days=60),
        ends_on=now.date() + timedelta(days=300),
        address="東京都江東区新砂3-1",
        now=now,
    )
    register.add_site_company(session=session, site_id=SITE_ID, employer_id=employer_id, parent_employer_id=PRIME_ID)
    register.assign(
        session=session,
        site_id=SITE_ID,
        technician_id=technician_id,
        employer_id=employer_id,
        start_date=now.date() - timedelta(days=30),
        role="職長",
    )
    _demo_client_and_request(session, engine, technician_id=technician_id, rng=rng, now=now)


def _demo_client_and_request(
    session: Session, engine: Engine, *, technician_id: str, rng: Randomness, now: datetime
) -> None:
    """The prime contractor's safety-documents system (a client acting for it) and its consent request."""
    prime = find_employer(session=session, employer_id=PRIME_ID)
    new = create_client(
        session=session, client_name=DEMO_CLIENT, redirect_uris=["http://127.0.0.1:8765/callback"], rng=rng, now=now
    )
    new.client.owner_employer_pk = prime.id if prime else None
    session.add(new.client)
    session.commit()
    service = ConsentService(engine, RegisterDirectory(engine), PolicyEngine())
    with contextlib.suppress(ConsentError):  # demo data only: an existing request is fine
        service.request(
            Party("client", new.client.client_id, acting_for=Party("company", PRIME_ID)),
            [technician_id],
            ["qualifications", "education_training"],
            "安全書類（作業員名簿・資格者証）の作成",
            local_date(now),  # Japan's calendar, as the engine's: UTC's date is "the past" from 00:00 to 09:00 JST
            date(now.year + 1, 3, 31),
            now=now,
        )
