"""Keeping credential statuses true to their sources (issue 6, item 4): a certificate revoked or
reissued at its source, or a card whose holder left the employer on it, becomes INVALID."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlmodel import Session, col, select

from wallet import status
from wallet.credentials import CARD, CERTIFICATE
from wallet.models import IssuedCredential
from wallet.ports import HolderData


def sync(session: Session, holders: HolderData, *, now: datetime) -> Counter[str]:
    live = session.exec(
        select(IssuedCredential)
        .where(col(IssuedCredential.status) != status.INVALID)
        .where(col(IssuedCredential.expires_at) > now)
    ).all()
    counts: Counter[str] = Counter()
    refs = sorted({r.subject_ref for r in live if r.configuration_id == CERTIFICATE and r.subject_ref})
    source = holders.certificate_statuses(refs) if refs else {}
    employers: dict[str, str | None] = {}
    for row in live:
        reason = None
        if row.configuration_id == CERTIFICATE and row.subject_ref:
            state = source.get(row.subject_ref, "missing")
            if state != "valid":
                reason = f"certificate {state} at its source"
        elif row.configuration_id == CARD:
            if row.technician_id not in employers:
                employers[row.technician_id] = holders.current_employer(row.technician_id, now=now)
            if employers[row.technician_id] != row.subject_ref:
                reason = "the technician left the employer on the card"
        if reason:
            status.set_status(session, [row.id], status.INVALID, reason=reason, now=now)
            counts["revoked"] += 1
    return counts
