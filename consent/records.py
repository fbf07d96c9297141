"""The append-only, hash-chained record of consent events and disclosures (APPI art. 29/30 records of
third-party provision; exportable to the technician under art. 33(5)).

Each entry's hash covers the previous hash and the entry's canonical JSON, so changing, removing
or reordering any entry breaks every later hash: :func:`verify` finds the first broken one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from consent.models import ChainHead, ConsentRecord

GENESIS = "0" * 64
_head = ChainHead.__table__  # type: ignore[attr-defined]
_record = ConsentRecord.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Entry:
    """One entry to append, before it has a place in the chain (``append_batch``)."""

    kind: str
    at: datetime
    recipient: str | None = None
    technician_id: str | None = None
    items: tuple[str, ...] = ()
    consent_ids: tuple[str, ...] = ()
    actor: str | None = None
    detail: dict[str, str] = field(default_factory=dict)


def _entry(row: ConsentRecord) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "at": row.at.isoformat(),
        "kind": row.kind,
        "recipient": row.recipient,
        "technician_id": row.technician_id,
        "items": list(row.items),
        "consent_ids": list(row.consent_ids),
        "actor": row.actor,
        "detail": dict(row.detail),
    }


def _hash(prev: str, entry: dict[str, Any]) -> str:
    canonical = json.dumps(entry, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(prev.encode() + canonical.encode()).hexdigest()


def append(
    session: Session,
    *,
    kind: str,
    at: datetime,
    recipient: str | None = None,
    technician_id: str | None = None,
    items: list[str] | tuple[str, ...] = (),
    consent_ids: list[str] | tuple[str, ...] = (),
    actor: str | None = None,
    detail: dict[str, str] | None = None,
) -> ConsentRecord:
    """Append one entry in the caller's transaction; the chain head row is locked until commit."""
    at = at.astimezone(UTC)  # hashed as stored (UTC), so verify() recomputes the same text
    # Write to the head first: on SQLite this takes the database write lock at once (SELECT ... FOR
    # UPDATE is a no-op there), on PostgreSQL it locks the row; either way appends never interleave.
    session.execute(update(ChainHead).where(col(ChainHead.id) == 1).values(last_seq=ChainHead.last_seq))
    head = session.exec(select(ChainHead).where(col(ChainHead.id) == 1).with_for_update()).first()
    if head is None:  # the migration seeds the head; recreate it once if it is missing, race-safe
        try:
            with session.begin_nested():
                session.add(ChainHead(id=1, last_seq=0, last_hash=GENESIS))
        except IntegrityError:
            pass
        head = session.exec(select(ChainHead).where(col(ChainHead.id) == 1).with_for_update()).one()
    row = ConsentRecord(
        seq=head.last_seq + 1,
        at=at,
        kind=kind,
        recipient=recipient,
        technician_id=technician_id,
        items=list(items),
        consent_ids=list(consent_ids),
        actor=actor,
        detail=dict(detail or {}),
        prev_hash=head.last_hash,
        hash="",
    )
    row.hash = _hash(head.last_hash, _entry(row))
    head.last_seq, head.last_hash = row.seq or 0, row.hash
    session.add(row)
    session.add(head)
    return row


def append_batch(connection: Connection, entries: Sequence[Entry]) -> list[int]:
    """Append ``entries`` in this order, in the connection's transaction (the caller commits), and
    return their seqs: the head row is locked and read in one statement, the entries inserted in one,
    the head moved in one, whatever the batch size (``consent/group_commit.py``)."""
    if not entries:
        return []
    lock = update(_head).where(_head.c.id == 1).values(last_seq=_head.c.last_seq)
    head = connection.execute(lock.returning(_head.c.last_seq, _head.c.last_hash)).first()
    if head is None:  # the migration seeds the head; recreate it once if it is missing, race-safe
        with contextlib.suppress(IntegrityError), connection.begin_nested():
            connection.execute(insert(_head).values(id=1, last_seq=0, last_hash=GENESIS))
        head = connection.execute(lock.returning(_head.c.last_seq, _head.c.last_hash)).one()
    seq, prev = int(head.last_seq), str(head.last_hash)
    rows = []
    for one in entries:
        seq += 1
        row = ConsentRecord(
            seq=seq,
            at=one.at.astimezone(UTC),  # hashed as stored (UTC), as in append
            kind=one.kind,
            recipient=one.recipient,
            technician_id=one.technician_id,
            items=list(one.items),
            consent_ids=list(one.consent_ids),
            actor=one.actor,
            detail=dict(one.detail),
            prev_hash=prev,
            hash="",
        )
        row.hash = prev = _hash(prev, _entry(row))
        rows.append({c.name: getattr(row, c.name) for c in _record.columns})
    # executemany with RETURNING: SQLAlchemy sends one multi-row INSERT ("insertmanyvalues") from a
    # statement compiled once, where .values(rows) would compile a new one for every batch
    inserted = connection.execute(insert(_record).returning(_record.c.seq), rows)
    connection.execute(update(_head).where(_head.c.id == 1).values(last_seq=seq, last_hash=prev))
    return sorted(int(s) for s in inserted.scalars())


def commit_batch(engine: Engine, entries: Sequence[Entry]) -> None:
    """``append_batch`` in a transaction of its own, committed before this returns."""
    with engine.begin() as connection:
        append_batch(connection, entries)


def verify(session: Session, *, batch: int = 5000) -> tuple[bool, int, int | None]:
    """Recompute the chain: ``(ok, entries checked, first bad seq)``."""
    prev, expected_seq, count, last = GENESIS, 1, 0, 0
    while True:
        rows = session.exec(
            select(ConsentRecord).where(col(ConsentRecord.seq) > last).order_by(col(ConsentRecord.seq)).limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            if row.seq != expected_seq or row.prev_hash != prev or _hash(prev, _entry(row)) != row.hash:
                return False, count, row.seq
            prev, expected_seq, count, last = row.hash, expected_seq + 1, count + 1, row.seq or 0
    head = session.get(ChainHead, 1)
    if (head is None and count) or (head is not None and (head.last_seq != count or head.last_hash != prev)):
        return False, count, count + 1  # entries were removed from the end
    return True, count, None


def for_technician(session: Session, technician_id: str) -> list[dict[str, Any]]:
    rows = session.exec(
        select(ConsentRecord).where(col(ConsentRecord.technician_id) == technician_id).order_by(col(ConsentRecord.seq))
    ).all()
    return [{**_entry(r), "hash": r.hash} for r in rows]
