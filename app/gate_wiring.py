"""Wiring the gate (wallet.gate.ports.GateDirectory) to the register and the consent engine: the
roster a gate syncs is a disclosure to the prime contractor, decided and recorded like any other;
entries and exits become 就業履歴 work records (one per technician, site and day)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from starlette.requests import Request

from common.japan_time import local_date
from consent.groups import FieldGroup
from consent.ports import ConsentPort, Party
from idp.models import Account, Employer, Technician
from idp.public import Clock, FieldProblem, SessionStore, staff_for_account
from register.attendance.store import record_event
from register.disclosure import disclose
from register.models import Site, SiteAssignment, SiteCompany, WorkRecord
from register.repository import assignment_active, find_site, record_work, site_active
from wallet.gate.ports import Entry, Operator, RosterEntry, SiteName

#: What a gate bundle carries of the technician record: name and kana, face photo, level (the
#: employer, tier and role come from the site's own 施工体制). Only these are asked for and recorded.
GATE_GROUPS: tuple[str, ...] = (FieldGroup.identity, FieldGroup.face_photo, FieldGroup.level_occupation)


class RegisterGate:
    def __init__(self, engine: Engine, consent: ConsentPort, sessions: SessionStore, cookie: str, clock: Clock) -> None:
        self._engine, self._consent, self._sessions, self._cookie = engine, consent, sessions, cookie
        self._clock = clock

    def site_exists(self, site_id: str) -> bool:
        with Session(self._engine) as session:
            return find_site(session=session, site_id=site_id) is not None

    def site_name(self, site_id: str) -> SiteName | None:
        with Session(self._engine) as session:
            site = find_site(session=session, site_id=site_id)
            if site is None:
                return None
            prime = session.get(Employer, site.prime_employer_pk)
            return SiteName(site.site_id, site.name, prime.trade_name if prime else "")

    def roster(self, site_id: str, *, now: datetime, recipient_employer_id: str) -> list[RosterEntry]:
        """Technicians assigned today, with only the fields the prime contractor may see (rule 2)."""
        recipient = Party("company", recipient_employer_id)
        out: list[RosterEntry] = []
        with Session(self._engine) as session:
            site = find_site(session=session, site_id=site_id)
            if site is None or not site_active(site, now):
                return []
            tiers = {
                c.employer_pk: c
                for c in session.exec(select(SiteCompany).where(col(SiteCompany.site_pk) == site.id)).all()
            }
            rows = session.exec(
                select(SiteAssignment, Technician)
                .where(col(SiteAssignment.technician_pk) == Technician.id)
                .where(col(SiteAssignment.site_pk) == site.id)
            ).all()
            for assignment, technician in rows:
                if not assignment_active(assignment, local_date(now)):
                    continue
                decision = self._consent.decide(recipient, technician.technician_id, GATE_GROUPS, now=now)
                if "identity" not in decision.allowed:
                    continue
                view = disclose(session, technician, decision, today=local_date(now))
                employer = session.get(Employer, assignment.employer_pk)
                tier = tiers.get(assignment.employer_pk)
                entry = RosterEntry(
                    technician_id=technician.technician_id,
                    name=technician.name,
                    name_kana=technician.name_kana,
                    employer_name=employer.trade_name if employer else None,
                    tier=tier.tier if tier else None,
                    role=assignment.role,
                    level=view.level_occupation.level if view.level_occupation else None,
                    photo=view.face_photo.data_uri if view.face_photo else None,
                )
                # APPI art. 29: the record names what was provided, no more (not what could have been)
                sent = ["technician_id", "name", "name_kana"]
                sent += ["level"] if entry.level is not None else []
                sent += ["face_photo"] if entry.photo else []
                self._consent.record_disclosure(
                    recipient, technician.technician_id, sorted(sent), decision, now=now, channel=f"gate-sync:{site_id}"
                )
                out.append(entry)
        return out

    def record(self, entry: Entry) -> bool:
        """One work record per technician, site and (Japanese) day: first entry, last exit.

        False (nothing written) when the register refuses it: a technician not assigned to the site in
        its 施工体制 on that day, or a day outside the site's period (issue 12: dates must fall within
        the site's period and the technician's assignment). The gate event itself is kept, and other
        entries are unaffected."""
        day = local_date(entry.at)
        key = f"gate|{entry.site_id}|{entry.technician_id}|{day.isoformat()}"
        with Session(self._engine) as session:
            employer_id = self._employer_there(session, entry, day)
            if employer_id is None:
                return False
            row = session.exec(select(WorkRecord).where(col(WorkRecord.event_key) == key)).first()
            if row is None:
                try:
                    row = record_work(
                        session=session,
                        event_key=key,
                        technician_id=entry.technician_id,
                        site_id=entry.site_id,
                        work_date=day,
                        entry_at=entry.at if entry.direction == "in" else None,
                        exit_at=entry.at if entry.direction == "out" else None,
                        source="gate",
                        now=entry.at,
                    )
                except FieldProblem:
                    session.rollback()
                    return False
            elif entry.direction == "in" and (row.entry_at is None or entry.at < row.entry_at):
                row.entry_at = entry.at
            elif entry.direction == "out" and (row.exit_at is None or entry.at > row.exit_at):
                row.exit_at = entry.at
            session.add(row)
            # issue 16: the event itself, for working time and 建退共 days; its month is refreshed now
            record_event(
                session,
                event_key=entry.event_key,
                technician_id=entry.technician_id,
                employer_id=employer_id,
                site_id=entry.site_id,
                direction=entry.direction,
                at=entry.at,
                verified=entry.verified,
                source=entry.source,
                now=self._clock(),
            )
            session.commit()
        return True

    @staticmethod
    def _employer_there(session: Session, entry: Entry, day: date) -> str | None:
        """The employer (事業者ID) through which the technician is assigned to the site on that day, or
        None when the register refuses the entry."""
        site = find_site(session=session, site_id=entry.site_id)
        if site is None or site.starts_on > day or (site.ends_on is not None and site.ends_on < day):
            return None
        if site.closed_at is not None and site.closed_at <= entry.at:
            return None
        for assignment, _ in session.exec(
            select(SiteAssignment, Technician)
            .where(col(SiteAssignment.technician_pk) == Technician.id)
            .where(col(SiteAssignment.site_pk) == site.id)
            .where(col(Technician.technician_id) == entry.technician_id)
        ).all():
            if assignment_active(assignment, day):
                employer = session.get(Employer, assignment.employer_pk)
                return employer.employer_id if employer is not None else None
        return None

    def operator(self, request: Request) -> Operator | None:
        """A signed-in staff user of the prime contractor runs that company's sites' gates."""
        now = self._clock()
        with Session(self._engine) as session:
            ws = self._sessions.load(session=session, raw=request.cookies.get(self._cookie), now=now)
            account = session.get(Account, ws.account_id) if ws and ws.account_id else None
            staff = staff_for_account(session=session, account_id=account.id) if account and account.id else None
            if staff is None or account is None:
                return None
            employer = staff[1]
            sites = session.exec(
                select(Site.site_id, Site.name).where(col(Site.prime_employer_pk) == employer.id)
            ).all()
            session.commit()
            return Operator(
                employer_id=employer.employer_id,
                username=account.username,
                sites=tuple(site_id for site_id, _ in sites),
                display_name=account.display_name,
                site_names={site_id: SiteName(site_id, name, employer.trade_name) for site_id, name in sites},
            )
