"""The disclosure record (APPI art. 29) and the hash chain it joins (consent/records.py)."""

from __future__ import annotations

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
        write lock. Otherwise it returns once the record is committed, in a transaction shared with
        the disclosures recorded at the same moment (``consent/group_commit.py``), and raises
        ``RecordNotDurable`` when that transaction failed: the caller must not disclose then."""
        entry = records.Entry(
            kind="disclosure",
            at=now,
            recipient=recipient.label(),
            technician_id=technician_id,
            items=tuple(sorted(items)),
            consent_ids=tuple(decision.consent_ids),
            actor=channel,
            detail={"rules": " ".join(decision.rules)},
        )
        if session is None:
            self._group_recorder.record(entry)
            return
        records.append(
            session,
            kind=entry.kind,
            at=entry.at,
            recipient=entry.recipient,
            technician_id=entry.technician_id,
            items=list(entry.items),
            consent_ids=list(entry.consent_ids),
            actor=entry.actor,
            detail=entry.detail,
        )

    def records_for_technician(self, technician_id: str) -> list[dict[str, object]]:
        with Session(self._engine) as db:
            return list(records.for_technician(db, technician_id))

    def verify_records(self) -> tuple[bool, int, str | None]:
        with Session(self._engine) as db:
            ok, count, bad = records.verify(db)
        return ok, count, None if bad is None else str(bad)
