"""The consent engine's view of the register (implements :class:`consent.ports.Directory`).

Relationships are computed for the organisation a principal acts for: a client acting for a
company has that company's relationships, nothing more.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, Engine
from sqlmodel import Session, col, select

from consent.ports import Party, Relationship
from idp.models import Affiliation, Employer, OAuthClient, Technician
from register import relationships
from register.models import Orderer


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

    def relationship(
        self, principal: Party, technician_id: str, *, now: datetime, connection: Connection | None = None
    ) -> Relationship:
        """Rules 2-5 of docs/domain.md as facts, read in one statement (``register.relationships``)."""
        if connection is not None:
            return relationships.relationship(connection, principal, technician_id, now=now)
        with self._engine.begin() as own:  # COMMIT, not ROLLBACK: see consent.service.decisions.decide
            return relationships.relationship(own, principal, technician_id, now=now)
