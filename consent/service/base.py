"""What every part of the consent engine shares: the database, the directory of parties, the Cedar
policies, the id source, and the view of a request that every operation answers with."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from common.japan_time import local_date
from consent import lifecycle as lc
from consent import records
from consent.group_commit import GroupRecorder
from consent.models import ConsentRequest
from consent.policy import PolicyEngine
from consent.ports import ConsentView, Directory, Party, PartyDecision

#: The most disclosure records one transaction appends (docs/operations.md, "Disclosure records").
DISCLOSURE_BATCH = 64


class ServiceBase:
    def __init__(
        self,
        engine: Engine,
        directory: Directory,
        policy: PolicyEngine,
        new_id: Callable[[], str] | None = None,
        *,
        recorder: GroupRecorder | None = None,
    ) -> None:
        """``recorder``: where disclosures recorded in their own transaction go (default: group
        commit of up to ``DISCLOSURE_BATCH`` records per transaction, ``consent/group_commit.py``)."""
        self._engine = engine
        self._directory = directory
        self._policy = policy
        self._new_id = new_id or (lambda: secrets.token_urlsafe(16))
        self._group_recorder = recorder or GroupRecorder(
            functools.partial(records.commit_batch, engine), max_batch=DISCLOSURE_BATCH
        )

    def _requester_label(self, row: ConsentRequest) -> str:
        party = Party(row.requester_kind, row.requester_id)  # type: ignore[arg-type]
        return party.label()

    def _view(self, row: ConsentRequest, now: datetime) -> ConsentView:
        requester = Party(row.requester_kind, row.requester_id)  # type: ignore[arg-type]
        return ConsentView(
            id=row.id,
            requester=requester.label(),
            requester_name=self._directory.party_name(requester),
            technician_id=row.technician_id,
            technician_name=self._directory.technician_name(row.technician_id),
            employer_id=row.employer_id,
            groups=tuple(row.groups),
            purpose=row.purpose,
            period_start=row.period_start,
            period_end=row.period_end,
            state=lc.state_at(row, local_date(now)),
            technician_decision=_decision(row.technician_decision),
            employer_decision=_decision(row.employer_decision),
            created_at=row.created_at,
        )


def _decision(stored: str | None) -> PartyDecision | None:
    return None if stored is None else PartyDecision(stored)
