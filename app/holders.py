"""The connectors' view of registered technicians (implements ``connectors.ports.HolderDirectory``)."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from connectors.verify import ExpectedHolder
from idp.public import find_technician


class RegisteredHolders:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def holder(self, technician_id: str) -> ExpectedHolder | None:
        with Session(self._engine) as session:
            technician = find_technician(session=session, technician_id=technician_id)
            if technician is None:
                return None
            return ExpectedHolder(technician.technician_id, technician.name, technician.birth_date)
