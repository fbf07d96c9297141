"""The consent engine's view of the register (implements :class:`consent.ports.Directory`).

Relationships are computed for the organisation a principal acts for: a client acting for a
company has that company's relationships, nothing more.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from common.japan_time import local_date
from consent.ports import Party, Relationship
from idp.models import Affiliation, Employer, OAuthClient, Technician
from register import substitution
from register.models import Orderer, Site, SiteAssignment, SiteCompany
from register.repository import assignment_active, site_active


def _current_affiliation(session: Session, technician_pk: int, today: date) -> tuple[Affiliation, Employer] | None:
    stmt = (
        select(Affiliation, Employer)
        .where(col(Affiliation.employer_pk) == Employer.id)
        .where(col(Affiliation.technician_pk) == technician_pk)
        .where(col(Affiliation.start_date) <= today)
        .where((col(Affiliation.end_date).is_(None)) | (col(Affiliation.end_date) >= today))
        .order_by(col(Affiliation.start_date).desc())
    )
    row = session.exec(stmt).first()
    return (row[0], row[1]) if row else None


def current_employer_of(session: Session, technician_pk: int, today: date) -> Employer | None:
    """The employer the technician works for on ``today`` (affiliation periods are inclusive)."""
    current = _current_affiliation(session, technician_pk, today)
    return current[1] if current else None


def _organisation_pks(session: Session, org: Party) -> tuple[int | None, int | None]:
    """(employer pk, orderer pk) of the organisation a principal acts for, where it is one."""
    principal_pk = None
    if org.kind == "company":
        row = session.exec(select(Employer).where(col(Employer.employer_id) == org.id)).first()
        principal_pk = row.id if row else None
    orderer_pk = None
    if org.kind == "orderer":
        orderer = session.exec(select(Orderer).where(col(Orderer.orderer_code) == org.id)).first()
        orderer_pk = orderer.id if orderer else None
    return principal_pk, orderer_pk


def _ancestors(chain: dict[int, SiteCompany], employer_pk: int) -> set[int]:
    """The companies above ``employer_pk`` in a site's chain of tiers (a loop in the chain ends the walk)."""
    ancestors: set[int] = set()
    own = chain.get(employer_pk)
    pk: int | None = own.parent_employer_pk if own else None
    while pk is not None and pk in chain and pk not in ancestors:
        ancestors.add(pk)
        pk = chain[pk].parent_employer_pk
    return ancestors


class RegisterDirectory:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _technician(self, session: Session, technician_id: str) -> Technician | None:
        return session.exec(select(Technician).where(col(Technician.technician_id) == technician_id)).first()

    def technician_exists(self, technician_id: str) -> bool:
        with Session(self._engine) as session:
            return self._technician(session, technician_id) is not None

    def technician_name(self, technician_id: str) -> str:
        with Session(self._engine) as session:
            technician = self._technician(session, technician_id)
            return technician.name if technician else technician_id

    def current_employer(self, technician_id: str, *, on: date) -> str | None:
        with Session(self._engine) as session:
            technician = self._technician(session, technician_id)
            if technician is None or technician.id is None:
                return None
            employer = current_employer_of(session, technician.id, on)
            return employer.employer_id if employer else None

    def technicians_of(self, employer_id: str, *, on: date) -> list[str]:
        with Session(self._engine) as session:
            stmt = (
                select(Technician.technician_id)
                .join(Affiliation, col(Affiliation.technician_pk) == Technician.id)
                .join(Employer, col(Affiliation.employer_pk) == Employer.id)
                .where(col(Employer.employer_id) == employer_id)
                .where(col(Affiliation.start_date) <= on)
                .where((col(Affiliation.end_date).is_(None)) | (col(Affiliation.end_date) >= on))
            )
            return sorted(set(session.exec(stmt).all()))

    def party_exists(self, party: Party) -> bool:
        return self._party_name(party) is not None

    def party_name(self, party: Party) -> str:
        return self._party_name(party) or party.id

    def _party_name(self, party: Party) -> str | None:
        with Session(self._engine) as session:
            if party.kind == "company":
                employer = session.exec(select(Employer).where(col(Employer.employer_id) == party.id)).first()
                return employer.trade_name if employer else None
            if party.kind == "orderer":
                orderer = session.exec(select(Orderer).where(col(Orderer.orderer_code) == party.id)).first()
                return orderer.name if orderer else None
            if party.kind == "client":
                client = session.get(OAuthClient, party.id)
                return client.client_name if client and not client.disabled else None
            if party.kind == "technician":
                technician = self._technician(session, party.id)
                return technician.name if technician else None
            return None

    def relationship(self, principal: Party, technician_id: str, *, now: datetime) -> Relationship:
        """Rules 2-5 of docs/domain.md as facts: self, current employer, upper tier on an active site where
        the technician is assigned, orderer of such a project, proxy registration (which grants nothing)."""
        today = local_date(now)
        org = principal.organisation
        with Session(self._engine) as session:
            technician = self._technician(session, technician_id)
            if technician is None or technician.id is None:
                return Relationship()
            current = _current_affiliation(session, technician.id, today)
            employer = current[1] if current else None
            facts: dict[str, object] = {
                "employer_id": employer.employer_id if employer else None,
                # rule 3: the employer's default, or its choice for this technician
                "contact_substitution": bool(current and substitution.effective(current[1], current[0])),
            }
            if org.kind == "technician":
                return Relationship(is_self=org.id == technician_id, **facts)  # type: ignore[arg-type]
            upper: set[str] = set()
            ordered: set[str] = set()
            proxy: set[str] = set()
            principal_pk, orderer_pk = _organisation_pks(session, org)
            assignments = session.exec(
                select(SiteAssignment, Site)
                .where(col(SiteAssignment.site_pk) == Site.id)
                .where(col(SiteAssignment.technician_pk) == technician.id)
            ).all()
            for assignment, site in assignments:
                if not (site_active(site, now) and assignment_active(assignment, today)):
                    continue
                if orderer_pk is not None and site.orderer_pk == orderer_pk:
                    ordered.add(site.site_id)
                if principal_pk is None:
                    continue
                chain = {
                    c.employer_pk: c
                    for c in session.exec(select(SiteCompany).where(col(SiteCompany.site_pk) == site.id)).all()
                }
                # Upper tiers only: the companies above the one the technician works through. That
                # company itself sees the technician only as the current employer (rule 1).
                if principal_pk in _ancestors(chain, assignment.employer_pk):
                    upper.add(site.site_id)
                elif assignment.registered_by_employer_pk == principal_pk or any(
                    c.registered_by_employer_pk == principal_pk for c in chain.values()
                ):
                    proxy.add(site.site_id)
            return Relationship(
                current_employer=bool(employer and principal_pk is not None and employer.id == principal_pk),
                upper_tier_sites=tuple(sorted(upper)),
                orderer_sites=tuple(sorted(ordered)),
                proxy_sites=tuple(sorted(proxy)),
                **facts,  # type: ignore[arg-type]
            )
