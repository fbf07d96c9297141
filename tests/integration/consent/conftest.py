"""A small CCUS world for the consent engine tests, built once per test on SQLite and PostgreSQL.

Companies (事業者):
  E1 prime contractor (元請) of site S1; E2 first-tier under E1; E3 second-tier under E2 (its
  施工体制 entry and T1's assignment were registered on its behalf by E6, 代行); E4 an unrelated
  company owning the OAuth client C4; E5 a first-tier sub under E1 beside E2 (sideways), employer
  of T3; E6 a proxy registrant that is not on the site; E7 T1's former employer and prime of the
  finished site S2.
Orderers (発注者): O1 orders S1, O2 orders S2.
Technicians (技能者): T1 employed by E3 (before: E7), assigned to S1 through E3 and, last year, to S2
  through E7; T2 employed by E2, assigned to S1 through E2 (registered by the prime E1, 代行);
  T3 employed by E5, on no site.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, update
from sqlmodel import Session, col, select

from consent.groups import ALL_GROUPS
from consent.models import ChainHead, ConsentRecord, ConsentRequest
from consent.policy import PolicyEngine
from consent.ports import ConsentView, Decision, Party
from consent.records import GENESIS
from consent.service import ConsentService
from idp import accounts
from idp.models import Affiliation, Employer, Technician
from idp.passwords import Passwords
from register import repository as register
from register.directory import RegisterDirectory
from register.models import SiteAssignment
from tests.support.clock import FrozenClock
from tests.support.world import World as Builder

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

E1, E2, E3, E4, E5, E6, E7 = (f"2000000000000{i}" for i in range(1, 8))
T1, T2, T3 = "10000000000001", "10000000000002", "10000000000003"
O1, O2 = "ORD-0001", "ORD-0002"
S1, S2 = "S1-KOTO-2026", "S2-CHUO-2025"

EMPLOYERS = {
    E1: ("大成建設工業", "東京都中央区1-1-1", "03-1111-0001"),
    E2: ("一次下請工業", "東京都江東区2-2-2", "03-1111-0002"),
    E3: ("二次下請鳶工業", "千葉県市川市3-3-3", "047-111-0003"),
    E4: ("無関係商事", "神奈川県横浜市4-4-4", "045-111-0004"),
    E5: ("並列設備工業", "埼玉県川口市5-5-5", "048-111-0005"),
    E6: ("代行登録サービス", "東京都港区6-6-6", "03-1111-0006"),
    E7: ("前所属建設", "東京都中央区7-7-7", "03-1111-0007"),
}

T1_JOINED_E3 = date(2026, 1, 1)
PURPOSE = "勤怠管理アプリでの出面管理のため"


@dataclass
class World:
    engine: Engine
    clock: FrozenClock
    service: ConsentService
    client_id: str
    tech_pk: dict[str, int] = field(default_factory=dict)
    employer_pk: dict[str, int] = field(default_factory=dict)

    # -- parties ---------------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        return self.clock()

    @property
    def today(self) -> date:
        return self.clock().date()

    def party(self, name: str) -> Party:
        """``T1`` technician, ``E3`` company (admin staff), ``E3:staff`` company staff, ``O1`` orderer,
        ``C4`` the client owned by E4."""
        if name.startswith("T"):
            return Party("technician", {"T1": T1, "T2": T2, "T3": T3}[name])
        if name.startswith("E"):
            key, _, role = name.partition(":")
            return Party("company", _EMPLOYER_BY_NAME[key], role=role or "admin")
        if name.startswith("O"):
            return Party("orderer", {"O1": O1, "O2": O2}[name])
        if name == "C4":
            return Party("client", self.client_id, acting_for=Party("company", E4))
        raise KeyError(name)

    @staticmethod
    def tid(name: str) -> str:
        """``T1``/``T2``/``T3`` or a 技能者ID."""
        return {"T1": T1, "T2": T2, "T3": T3}.get(name, name)

    # -- register changes --------------------------------------------------------------------
    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def end_affiliation(self, tech: str, end: date) -> None:
        with self.session() as db:
            accounts.end_affiliation(session=db, technician_pk=self.tech_pk[self.tid(tech)], end_date=end)
            db.commit()

    def move(self, tech: str, employer: str, start: date) -> None:
        with self.session() as db:
            accounts.link_affiliation(
                session=db, technician_id=self.tid(tech), employer_id=employer, start_date=start, now=self.now
            )
            db.commit()

    def set_contact_substitution(self, employer_id: str, on: bool = True) -> None:
        with self.session() as db:
            db.exec(update(Employer).where(col(Employer.employer_id) == employer_id).values(contact_substitution=on))
            db.commit()

    def close_site(self, site_id: str) -> None:
        with self.session() as db:
            register.close_site(session=db, site_id=site_id, now=self.now)
            db.commit()

    def end_assignments(self, tech: str, end: date) -> None:
        with self.session() as db:
            db.exec(
                update(SiteAssignment)
                .where(col(SiteAssignment.technician_pk) == self.tech_pk[self.tid(tech)])
                .values(end_date=end)
            )
            db.commit()

    def technician(self, db: Session, tech_id: str) -> Technician:
        found = accounts.find_technician(session=db, technician_id=tech_id)
        assert found is not None
        return found

    # -- consent helpers -----------------------------------------------------------------
    def request(
        self,
        requester: str | Party,
        groups: Iterable[str],
        *,
        tech: str = T1,
        start: date | None = None,
        end: date | None = None,
        purpose: str = PURPOSE,
    ) -> ConsentView:
        party = self.party(requester) if isinstance(requester, str) else requester
        start = start or self.today
        views = self.service.request(
            party, [self.tid(tech)], list(groups), purpose, start, end or start + timedelta(days=90), now=self.now
        )
        assert len(views) == 1
        return views[0]

    def approve(self, consent_id: str, *who: str) -> ConsentView:
        view = None
        for name in who:
            view = self.service.approve(consent_id, self.party(name), now=self.now)
        assert view is not None
        return view

    def decide(self, principal: str | Party, tech: str = T1, groups: Iterable[str] = ALL_GROUPS) -> Decision:
        party = self.party(principal) if isinstance(principal, str) else principal
        return self.service.decide(party, self.tid(tech), tuple(groups), now=self.now)

    # -- snapshots of the consent tables -------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self.session() as db:
            requests = [r.model_dump() for r in db.exec(select(ConsentRequest).order_by(col(ConsentRequest.id))).all()]
            records = [r.model_dump() for r in db.exec(select(ConsentRecord).order_by(col(ConsentRecord.seq))).all()]
            head = db.get(ChainHead, 1)
            return {"requests": requests, "records": records, "head": head.model_dump() if head else None}

    def reset_affiliations(self, tech: str, keep_from: date) -> None:
        """Undo moves: drop the technician's affiliations starting after ``keep_from`` and make the one
        starting on ``keep_from`` current again (between hypothesis examples)."""
        pk = self.tech_pk[self.tid(tech)]
        with self.session() as db:
            db.exec(
                delete(Affiliation)
                .where(col(Affiliation.technician_pk) == pk)
                .where(col(Affiliation.start_date) > keep_from)
            )
            db.exec(
                update(Affiliation)
                .where(col(Affiliation.technician_pk) == pk)
                .where(col(Affiliation.start_date) == keep_from)
                .values(end_date=None)
            )
            db.commit()

    def reset_consents(self) -> None:
        """Empty the consent tables and reset the chain head (between hypothesis examples)."""
        with self.session() as db:
            db.exec(delete(ConsentRecord))
            db.exec(delete(ConsentRequest))
            head = db.get(ChainHead, 1)
            if head is not None:
                head.last_seq, head.last_hash = 0, GENESIS
                db.add(head)
            db.commit()


_EMPLOYER_BY_NAME = {f"E{i}": eid for i, eid in enumerate((E1, E2, E3, E4, E5, E6, E7), start=1)}


def build_world(engine: Engine, db: Session, clock: FrozenClock, passwords: Passwords) -> World:
    """The world of the module docstring, made with the shared builder (tools/world.py)."""
    built = Builder(db, clock=clock, passwords=passwords)
    for eid, (name, address, phone) in EMPLOYERS.items():
        built.employer(eid, name, address=address, phone=phone)
    people = [
        (T1, "鈴木 一郎", "スズキ イチロウ", date(1985, 4, 12), "male", PNG),
        (T2, "佐藤 花子", "サトウ ハナコ", date(1990, 8, 3), "female", None),
        (T3, "高橋 次郎", "タカハシ ジロウ", date(1978, 1, 20), "male", None),
    ]
    for tid, name, kana, born, gender, photo in people:
        built.technician(
            tid,
            name,
            kana=kana,
            birth_date=born,
            gender=gender,
            address="東京都足立区9-9-9",
            phone="090-9999-0000",
            password="long enough password",
            photo=photo,
        )
    (
        built.affiliation(T1, E7, date(2020, 4, 1))
        .affiliation(T1, E3, T1_JOINED_E3)
        .affiliation(T2, E2, date(2022, 4, 1))
        .affiliation(T3, E5, date(2023, 4, 1))
        .record(
            T1,
            level=3,
            occupations=["とび"],
            health_insurance="enrolled",
            pension_insurance="enrolled",
            employment_insurance="enrolled",
            kentaikyo=True,
            qualifications=[{"name": "玉掛け技能講習", "number": "Q-1"}],
            education=[{"school": "工業高校"}],
            training=[{"course": "職長教育"}],
            awards=[{"award": "優良技能者表彰"}],
        )
        .orderer(O1, "江東区")
        .orderer(O2, "中央区")
        .site(S1, "江東区庁舎新築工事", prime=E1, starts_on=date(2026, 4, 1), orderer=O1)
        .tier(S1, E2, parent=E1)
        .tier(S1, E3, parent=E2, registered_by=E6)
        .tier(S1, E5, parent=E1)
        .assignment(S1, T1, employer=E3, start=date(2026, 10, 1), registered_by=E6)
        .assignment(S1, T2, employer=E2, start=date(2026, 10, 1), registered_by=E1)
        .site(S2, "中央区道路改良工事", prime=E7, starts_on=date(2025, 1, 1), ends_on=date(2025, 12, 31), orderer=O2)
        .assignment(S2, T1, employer=E7, start=date(2025, 1, 1), end=date(2025, 12, 31))
    )
    for key, tid, site, day in (
        ("w-t1-s1", T1, S1, date(2026, 11, 20)),
        ("w-t1-s2", T1, S2, date(2025, 6, 2)),
        ("w-t2-s1", T2, S1, date(2026, 11, 20)),
    ):
        built.work(key, tid, site, day, entry_at=datetime.combine(day, datetime.min.time(), tzinfo=UTC))
    built.client("出面管理アプリ", ["https://kintai.example/cb"], owner_employer=E4)
    db.commit()
    service = ConsentService(engine, RegisterDirectory(engine), PolicyEngine())
    return World(
        engine=engine,
        clock=clock,
        service=service,
        client_id=built.clients["出面管理アプリ"].client.client_id,
        tech_pk={tid: tech.id for tid, tech in built.technicians.items() if tech.id is not None},
        employer_pk={eid: employer.id for eid, employer in built.employers.items() if employer.id is not None},
    )


class CachedPasswords(Passwords):
    """The real argon2id hasher, hashing each distinct password once per session (the world's
    technicians share one password; the consent engine never checks it)."""

    def __init__(self, real: Passwords) -> None:
        self._real = real
        self._cache: dict[str, str] = {}

    def hash(self, password: str) -> str:
        if password not in self._cache:
            self._cache[password] = self._real.hash(password)
        return self._cache[password]

    def verify(self, stored_hash: str | None, password: str) -> bool:
        return self._real.verify(stored_hash, password)


@pytest.fixture(scope="session")
def cached_passwords(passwords: Passwords) -> CachedPasswords:
    return CachedPasswords(passwords)


@pytest.fixture
def world(engine: Engine, db: Session, clock: FrozenClock, cached_passwords: CachedPasswords) -> World:
    """The world above, on the backend under test; ``db`` empties every table afterwards."""
    return build_world(engine, db, clock, cached_passwords)
