"""Demo data for ``make demo``: one employer and its admin, one technician, the prime contractor's gate staff.

Loading is idempotent: a second run finds the accounts and prints the same details.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import cast

from sqlalchemy import Engine
from sqlmodel import Session

from app.demo_register import PRIME_ID, load_register_demo
from app.settings import Settings
from idp.models import Account
from idp.public import (
    AuditEvents,
    Clock,
    Passwords,
    Randomness,
    SecretBox,
    create_employer,
    create_staff,
    create_technician,
    current_totp_code,
    enrol_totp_directly,
    find_employer,
    find_login_account,
    link_affiliation,
    record_audit_event,
)

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


def _create_demo_employer(
    session: Session, *, passwords: Passwords, box: SecretBox, rng: Randomness, now: datetime
) -> None:
    """The demo employer (and a sole proprietor), its technician and its administrator, enrolled in TOTP."""
    create_employer(
        session=session,
        employer_id=EMPLOYER_ID,
        trade_name="株式会社 山田工務店",
        address="東京都江東区新砂1-2-3",
        phone="03-1234-5678",
        now=now,
    )
    create_employer(
        session=session,
        employer_id="31000000000026",
        trade_name="佐藤鉄筋",
        address="千葉県市川市八幡2-4-6",
        phone="047-123-4567",
        sole_proprietor=True,
        now=now,
    )
    tech_account, _ = create_technician(
        session=session,
        technician_id=TECHNICIAN_ID,
        name="鈴木 一郎",
        name_kana="スズキ イチロウ",
        birth_date=date(1985, 4, 12),
        gender="male",
        address="東京都江東区東陽4-5-6",
        phone="090-1234-5678",
        password=DEMO_PASSWORD,
        passwords=passwords,
        rng=rng,
        now=now,
    )
    link_affiliation(
        session=session, technician_id=TECHNICIAN_ID, employer_id=EMPLOYER_ID, start_date=date(2019, 4, 1), now=now
    )
    staff_account, _ = create_staff(
        session=session,
        employer_id=EMPLOYER_ID,
        login=STAFF_LOGIN,
        display_name="山田 花子",
        role="admin",
        email="hanako@yamada-koumuten.example",
        password=DEMO_PASSWORD,
        passwords=passwords,
        rng=rng,
        now=now,
    )
    for account in (tech_account, staff_account):
        _enrol(session, account, box=box, rng=rng, now=now)
    session.commit()


def load_demo(
    *, session: Session, settings: Settings, passwords: Passwords, box: SecretBox, rng: Randomness, clock: Clock
) -> list[DemoAccount]:
    now = clock()
    if find_employer(session=session, employer_id=EMPLOYER_ID) is None:
        _create_demo_employer(session, passwords=passwords, box=box, rng=rng, now=now)
    load_register_demo(
        session=session,
        engine=cast(Engine, session.get_bind()),
        technician_id=TECHNICIAN_ID,
        employer_id=EMPLOYER_ID,
        clock=clock,
        rng=rng,
    )
    gate_username = f"{PRIME_ID}-{GATE_LOGIN}"
    if find_login_account(session=session, username=gate_username) is None:
        gate_account, _ = create_staff(
            session=session,
            employer_id=PRIME_ID,
            login=GATE_LOGIN,
            display_name="高橋 誠",
            role="staff",
            email="gate@tokyo-genecon.example",
            password=DEMO_PASSWORD,
            passwords=passwords,
            rng=rng,
            now=now,
        )
        _enrol(session, gate_account, box=box, rng=rng, now=now)
        session.commit()
    result = []
    for role, username in (
        ("technician 技能者", TECHNICIAN_ID),
        ("employer admin 事業者管理者", f"{EMPLOYER_ID}-{STAFF_LOGIN}"),
        ("prime contractor gate staff 元請 ゲート担当", gate_username),
    ):
        found = find_login_account(session=session, username=username)
        assert found is not None and found.totp_secret_enc
        secret = box.open(found.totp_secret_enc).decode()
        result.append(DemoAccount(role, username, DEMO_PASSWORD, secret, found.display_name))
    return result


def _enrol(session: Session, account: Account, *, box: SecretBox, rng: Randomness, now: datetime) -> None:
    """A demo account's TOTP enrolment and its creation in the audit log, as for any other account."""
    enrol_totp_directly(session=session, account=account, box=box, rng=rng)
    record_audit_event(
        session=session,
        event=AuditEvents.ACCOUNT_CREATED,
        outcome="success",
        now=now,
        account_id=account.id,
        subject=account.username,
        detail={"via": "demo"},
    )


def current_codes(demo: list[DemoAccount], *, clock: Clock) -> dict[str, str]:
    return {d.username: current_totp_code(d.totp_secret, now=clock()) for d in demo}


def as_json(demo: list[DemoAccount]) -> list[dict[str, str]]:
    return [asdict(d) for d in demo]


__all__ = ["DemoAccount", "as_json", "current_codes", "load_demo"]
