"""The connectors' view of registered technicians (implements ``connectors.ports.HolderDirectory``)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from connectors.verify import ExpectedHolder
from idp.models import Technician
from idp.public import find_technician

CHUNK = 1000  # ids per look-up statement (a bulk import's page is at most 1000 records)


class RegisteredHolders:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def holder(self, technician_id: str) -> ExpectedHolder | None:
        with Session(self._engine) as session:
            technician = find_technician(session=session, technician_id=technician_id)
            if technician is None:
                return None
            return ExpectedHolder(technician.technician_id, technician.name, technician.birth_date)

    def holders(self, technician_ids: Collection[str]) -> dict[str, ExpectedHolder]:
        """The same look-up for a page of records in one statement (issue 14: bulk import per
        CPU-second), matching on the technician id exactly as :func:`idp.public.find_technician` does."""
        ids, found = sorted(technician_ids), dict[str, ExpectedHolder]()
        if not ids:
            return found
        columns = (col(Technician.technician_id), col(Technician.name), col(Technician.birth_date))
        with Session(self._engine) as session:
            for at in range(0, len(ids), CHUNK):
                stmt = select(*columns).where(col(Technician.technician_id).in_(ids[at : at + CHUNK]))
                found |= {tid: ExpectedHolder(tid, name, born) for tid, name, born in session.execute(stmt)}
        return found
