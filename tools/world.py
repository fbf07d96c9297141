"""One builder for the data a test, a benchmark or the demo starts from (issue 13 item 4: one world
builder instead of a seeder per test folder): employers → technicians → orderers → sites → tiers →
assignments → work records, and the staff and clients that act on them.

Every row is made through the repositories the service itself uses — ``idp.accounts`` (accounts,
technicians, dated affiliations), ``register.repository`` (the CCUS register's records, sites,
tiers, assignments and work history) and ``idp.oauth.clients`` (RFC 7591
client metadata) — so the builder cannot make a world the service would refuse. Calls chain::

    world = (
        World(session, clock=clock, passwords=passwords)
        .employer(PRIME, "株式会社 東京ゼネコン").employer(SUB, "株式会社 山田工務店")
        .technician("10000000000019", "鈴木 一郎", employer=SUB, since=date(2020, 4, 1))
        .site(SITE, "新築工事", prime=PRIME, starts_on=date(2026, 4, 1)).tier(SITE, SUB, parent=PRIME)
        .assignment(SITE, "10000000000019", employer=SUB, start=date(2026, 4, 1))
    )

The builder never commits (the caller owns the transaction); what it made is kept by id in
``employers``, ``technicians``, ``logins``, ``sites`` and ``clients``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Self

from sqlmodel import Session

from idp import accounts, enrolment
from idp.models import Account, Employer, Technician
from idp.oauth.clients import NewClient, create_client
from idp.passwords import Passwords
from idp.runtime import Randomness, SystemRandomness
from idp.secretbox import SecretBox
from register import repository as register
from register.models import Site

PASSWORD = "correct horse battery"  # noqa: S105 - test and demo data only
ADDRESS = "東京都江東区東陽4-5-6"
PHONE = "090-1234-5678"
COMPANY_PHONE = "03-1234-5678"


@dataclass
class Login:
    """An account that signs in: its user name, password, TOTP secret (when enrolled) and row id."""

    username: str
    password: str
    totp_secret: str | None
    account_id: int


@dataclass
class World:
    """The builder. ``clock`` gives the creation times; ``passwords`` hashes the accounts' passwords
    (needed for technicians and staff); ``box`` seals TOTP secrets (needed for ``totp=True``)."""

    session: Session
    clock: Callable[[], datetime]
    passwords: Passwords | None = None
    rng: Randomness = field(default_factory=SystemRandomness)
    box: SecretBox | None = None
    employers: dict[str, Employer] = field(default_factory=dict)
    technicians: dict[str, Technician] = field(default_factory=dict)
    logins: dict[str, Login] = field(default_factory=dict)
    sites: dict[str, Site] = field(default_factory=dict)
    clients: dict[str, NewClient] = field(default_factory=dict)

    # -- identity (idp.accounts) ------------------------------------------------------------------

    def employer(
        self,
        employer_id: str,
        trade_name: str,
        *,
        address: str = "東京都",
        phone: str = COMPANY_PHONE,
        sole_proprietor: bool = False,
    ) -> Self:
        """A company (or sole proprietor) with its CCUS business id."""
        self.employers[employer_id] = accounts.create_employer(
            session=self.session,
            employer_id=employer_id,
            trade_name=trade_name,
            address=address,
            phone=phone,
            sole_proprietor=sole_proprietor,
            now=self.clock(),
        )
        return self

    def technician(
        self,
        technician_id: str,
        name: str = "鈴木 一郎",
        *,
        kana: str = "スズキ イチロウ",
        birth_date: date = date(1985, 4, 12),
        gender: str = "male",
        address: str = ADDRESS,
        phone: str = PHONE,
        password: str = PASSWORD,
        photo: bytes | None = None,
        totp: bool = False,
        employer: str | None = None,
        since: date = date(2020, 4, 1),
    ) -> Self:
        """A technician and the account they sign in with (``logins[technician_id]``); with
        ``employer``, their affiliation from ``since`` (a dated link)."""
        account, technician = accounts.create_technician(
            session=self.session,
            technician_id=technician_id,
            name=name,
            name_kana=kana,
            birth_date=birth_date,
            gender=gender,
            address=address,
            phone=phone,
            password=password,
            face_photo=photo,
            passwords=self._passwords(),
            rng=self.rng,
            now=self.clock(),
        )
        self.technicians[technician_id] = technician
        self.logins[technician_id] = self._login(account, password, totp)
        if employer is not None:
            self.affiliation(technician_id, employer, since)
        return self

    def affiliation(self, technician_id: str, employer_id: str, start_date: date) -> Self:
        """The technician works for ``employer_id`` from ``start_date`` (ending the current one)."""
        accounts.link_affiliation(
            session=self.session,
            technician_id=technician_id,
            employer_id=employer_id,
            start_date=start_date,
            now=self.clock(),
        )
        return self

    def staff(
        self,
        employer_id: str,
        login: str,
        display_name: str,
        *,
        role: str = "staff",
        email: str | None = None,
        password: str = PASSWORD,
        totp: bool = True,
    ) -> Self:
        """A staff account of the employer, ``logins["<employer id>-<login>"]``, with TOTP by default."""
        account, _ = accounts.create_staff(
            session=self.session,
            employer_id=employer_id,
            login=login,
            display_name=display_name,
            role=role,
            email=email,
            password=password,
            passwords=self._passwords(),
            rng=self.rng,
            now=self.clock(),
        )
        self.logins[account.username] = self._login(account, password, totp)
        return self

    def operator(self, login: str, display_name: str, *, password: str = PASSWORD, totp: bool = True) -> Self:
        """A platform operator's account (運営主体), ``logins[login]``, with TOTP by default."""
        account = accounts.create_operator(
            session=self.session,
            login=login,
            display_name=display_name,
            password=password,
            passwords=self._passwords(),
            rng=self.rng,
            now=self.clock(),
        )
        self.logins[account.username] = self._login(account, password, totp)
        return self

    # -- the CCUS register (register.repository) --------------------------------------------------

    def record(self, technician_id: str, **values: Any) -> Self:
        """The technician's register record (level, occupations, insurance, qualifications …)."""
        register.set_record(session=self.session, technician_id=technician_id, now=self.clock(), **values)
        return self

    def orderer(self, orderer_code: str, name: str) -> Self:
        """An orderer (発注者), docs/domain.md rule 5."""
        register.create_orderer(session=self.session, orderer_code=orderer_code, name=name, now=self.clock())
        return self

    def site(
        self,
        site_id: str,
        name: str,
        *,
        prime: str,
        starts_on: date,
        ends_on: date | None = None,
        orderer: str | None = None,
        address: str = "",
    ) -> Self:
        """A site run by its prime contractor (元請), the top tier."""
        self.sites[site_id] = register.create_site(
            session=self.session,
            site_id=site_id,
            name=name,
            prime_employer_id=prime,
            starts_on=starts_on,
            ends_on=ends_on,
            orderer_code=orderer,
            address=address,
            now=self.clock(),
        )
        return self

    def tier(self, site_id: str, employer_id: str, *, parent: str, registered_by: str | None = None) -> Self:
        """``employer_id`` works on the site under ``parent`` (施工体制: one tier below it)."""
        register.add_site_company(
            session=self.session,
            site_id=site_id,
            employer_id=employer_id,
            parent_employer_id=parent,
            registered_by_employer_id=registered_by,
        )
        return self

    def assignment(
        self,
        site_id: str,
        technician_id: str,
        *,
        employer: str,
        start: date,
        end: date | None = None,
        role: str = "",
        registered_by: str | None = None,
    ) -> Self:
        """The technician is on the site's roster for ``employer`` from ``start`` (to ``end``)."""
        register.assign(
            session=self.session,
            site_id=site_id,
            technician_id=technician_id,
            employer_id=employer,
            start_date=start,
            end_date=end,
            role=role,
            registered_by_employer_id=registered_by,
        )
        return self

    def work(
        self,
        event_key: str,
        technician_id: str,
        site_id: str,
        work_date: date,
        *,
        entry_at: datetime | None = None,
        exit_at: datetime | None = None,
    ) -> Self:
        """A day's work record (就業履歴), idempotent by ``event_key``."""
        register.record_work(
            session=self.session,
            event_key=event_key,
            technician_id=technician_id,
            site_id=site_id,
            work_date=work_date,
            entry_at=entry_at,
            exit_at=exit_at,
            now=self.clock(),
        )
        return self

    # -- OAuth clients (idp.oauth.clients) --------------------------------------------------------

    def client(
        self, client_name: str, redirect_uris: list[str], *, owner_employer: str | None = None, **metadata: Any
    ) -> Self:
        """A registered client (``clients[client_name]``, with its secret), owned by ``owner_employer``
        when given (the consent engine's relationship rules read the owner)."""
        made = create_client(
            session=self.session,
            client_name=client_name,
            redirect_uris=redirect_uris,
            rng=self.rng,
            now=self.clock(),
            **metadata,
        )
        if owner_employer is not None:
            owner = accounts.find_employer(session=self.session, employer_id=owner_employer)
            assert owner is not None, f"unknown employer {owner_employer}"
            made.client.owner_employer_pk = owner.id
            self.session.add(made.client)
        self.clients[client_name] = made
        return self

    # -- helpers ----------------------------------------------------------------------------------

    def _passwords(self) -> Passwords:
        assert self.passwords is not None, "World(passwords=...) is needed to make accounts"
        return self.passwords

    def _login(self, account: Account, password: str, totp: bool) -> Login:
        secret = None
        if totp:
            assert self.box is not None, "World(box=...) is needed to enrol TOTP"
            secret = enrolment.enrol_totp_directly(session=self.session, account=account, box=self.box, rng=self.rng)
        self.session.flush()
        assert account.id is not None
        return Login(account.username, password, secret, account.id)
