"""Consent requests and their receipts (Kantara consent receipt) as their readers may see them."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from common.japan_time import local_date
from consent.models import ConsentRequest
from consent.ports import ConsentView, Party
from consent.receipt import kantara_receipt, readable_receipt
from consent.service.base import ServiceBase


class Queries(ServiceBase):
    """Reading requests: ``get``, ``for_technician``, ``for_employer``, ``receipt``, ``receipt_for``."""

    def get(self, consent_id: str, *, now: datetime) -> ConsentView | None:
        with Session(self._engine) as db:
            row = db.get(ConsentRequest, consent_id)
            return self._view(row, now) if row else None

    def for_technician(self, technician_id: str, *, now: datetime) -> list[ConsentView]:
        with Session(self._engine) as db:
            rows = db.exec(
                select(ConsentRequest)
                .where(col(ConsentRequest.technician_id) == technician_id)
                .order_by(col(ConsentRequest.created_at).desc())
            ).all()
            return [self._view(r, now) for r in rows]

    def for_employer(self, employer_id: str, *, now: datetime) -> list[ConsentView]:
        """Consents asked of this employer about the technicians who work for it now: once an
        affiliation ends, the former employer no longer follows that technician's consents."""
        current = self._directory.technicians_of(employer_id, on=local_date(now))
        if not current:
            return []
        with Session(self._engine) as db:
            rows = db.exec(
                select(ConsentRequest)
                .where(col(ConsentRequest.employer_id) == employer_id)
                .where(col(ConsentRequest.technician_id).in_(current))
                .order_by(col(ConsentRequest.created_at).desc())
                .limit(2000)
            ).all()
            return [self._view(r, now) for r in rows]

    def receipt(self, consent_id: str, *, now: datetime) -> dict[str, object] | None:
        view = self.get(consent_id, now=now)
        return kantara_receipt(view) if view else None

    def receipt_for(self, consent_id: str, reader: Party, *, now: datetime) -> dict[str, object] | None:
        """The receipt as ``reader`` may read it (``consent.receipt.readable_receipt``), or ``None``."""
        view = self.get(consent_id, now=now)
        if view is None:
            return None
        return readable_receipt(view, reader, self._directory.current_employer(view.technician_id, on=local_date(now)))
