"""The disclosure record (APPI art. 29) and the hash chain it joins (consent/records.py)."""

from __future__ import annotations

import contextlib
from datetime import datetime

from sqlmodel import Session

from consent import records
from consent.ports import Decision, Party
from consent.service.base import ServiceBase


class Recording(ServiceBase):
    """Disclosure records: ``record_disclosure``, ``records_for_technician``, ``verify_records``."""

    def record_disclosure(
        self,
        recipient: Party,
        technician_id: str,
        items: list[str],
        decision: Decision,
        *,
        now: datetime,
        channel: str,
        session: Session | None = None,
    ) -> None:
        """APPI art. 29: who received what, about whom, on whose consent (or which rule), when.

        Given ``session`` (a transaction of the same database that will commit what is disclosed,
        such as the token response carrying an ID token), the record joins that transaction: it
        lands exactly when the disclosure does, and on SQLite it does not wait on the caller's own
        write lock. Otherwise it is committed at once in its own transaction."""
        with contextlib.ExitStack() as stack:
            db = session if session is not None else stack.enter_context(Session(self._engine))
            records.append(
                db,
                kind="disclosure",
                at=now,
                recipient=recipient.label(),
                technician_id=technician_id,
                items=sorted(items),
                consent_ids=list(decision.consent_ids),
                actor=channel,
                detail={"rules": " ".join(decision.rules)},
            )
            if session is None:
                db.commit()

    def records_for_technician(self, technician_id: str) -> list[dict[str, object]]:
        with Session(self._engine) as db:
            return list(records.for_technician(db, technician_id))

    def verify_records(self) -> tuple[bool, int, str | None]:
        with Session(self._engine) as db:
            ok, count, bad = records.verify(db)
        return ok, count, None if bad is None else str(bad)
