"""A consent request's life (issue 4, item 4): asked by a requester (or started by the employer),
approved or refused by the technician and the employer, narrowed, revoked. Each transition is one
transaction that changes nothing when it refuses and records what it did in the hash chain."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime

from sqlmodel import Session

from common.japan_time import add_years, local_date
from common.messages import message
from consent import lifecycle as lc
from consent import records
from consent.groups import ALL_GROUPS
from consent.models import ConsentRequest
from consent.ports import ConsentError, ConsentView, Party
from consent.service.base import ServiceBase

MAX_YEARS = 2
MAX_TECHNICIANS = 10_000


def _check_purpose(purpose: str) -> str:
    text = unicodedata.normalize("NFC", purpose or "").strip()
    if not text:
        raise ConsentError("purpose_required", message("consent.purpose_required"))
    if len(text) > 500 or any(unicodedata.category(c) in ("Cc", "Cf") for c in text):
        raise ConsentError("purpose_invalid", message("consent.purpose_invalid"))
    return text


def _check_groups(groups: list[str]) -> list[str]:
    wanted = list(dict.fromkeys(groups))
    if not wanted or any(g not in ALL_GROUPS for g in wanted):
        raise ConsentError("unknown_group", message("consent.unknown_groups"))
    return wanted


def _check_period(period_start: date, period_end: date, now: datetime) -> None:
    if period_start < local_date(now) or period_end < period_start:
        raise ConsentError("bad_period", message("consent.bad_period"))
    if period_end > add_years(period_start, MAX_YEARS):
        raise ConsentError("period_too_long", message("consent.period_too_long"))


def _existing(db: Session, consent_id: str) -> ConsentRequest:
    """The consent request ``consent_id``, or ``not_found`` (404) for any party."""
    row = db.get(ConsentRequest, consent_id)
    if row is None:
        raise ConsentError("not_found", message("consent.not_found"), status=404)
    return row


def _check_initiator(initiator: Party | None, employer: str | None) -> None:
    """An employer starts grants only for its own technicians, and only through an administrator."""
    if initiator is not None and (initiator.kind != "company" or employer != initiator.id or initiator.role != "admin"):
        raise ConsentError(
            "not_employer",
            message("consent.not_employer"),
            status=403,
        )


class Transitions(ServiceBase):
    """The lifecycle transitions: ``request``, ``approve``, ``refuse``, ``revoke`` (and
    ``revoke_on_request``, the operator's), ``narrow``."""

    def request(
        self,
        requester: Party,
        technician_ids: list[str],
        groups: list[str],
        purpose: str,
        period_start: date,
        period_end: date,
        *,
        now: datetime,
        employer_initiated: bool = False,
    ) -> list[ConsentView]:
        """Ask the technicians (and each one's employer) for consent. ``employer_initiated``: the
        requester's company starts the grant for its own technicians, its side approved at once."""
        text = _check_purpose(purpose)
        wanted = _check_groups(groups)
        _check_period(period_start, period_end, now)
        ids = self._check_parties(requester, technician_ids)
        initiator = requester.acting_for if employer_initiated else None
        batch, created = self._new_id(), []
        with Session(self._engine, expire_on_commit=False) as db:
            for tid in ids:
                employer = self._directory.current_employer(tid, on=local_date(now))
                _check_initiator(initiator, employer)
                row = ConsentRequest(
                    id=self._new_id(),
                    batch_id=batch,
                    requester_kind=requester.kind,
                    requester_id=requester.id,
                    requester_org_kind=requester.organisation.kind if requester.acting_for else None,
                    requester_org_id=requester.organisation.id if requester.acting_for else None,
                    technician_id=tid,
                    employer_id=employer,
                    groups=wanted,
                    purpose=text,
                    period_start=period_start,
                    period_end=period_end,
                    state=lc.AWAITING,
                    created_at=now,
                    updated_at=now,
                    employer_decision=lc.APPROVED if initiator is not None else None,
                    employer_decided_at=now if initiator is not None else None,
                )
                db.add(row)
                records.append(
                    db,
                    kind="consent.requested",
                    at=now,
                    recipient=requester.label(),
                    technician_id=tid,
                    items=wanted,
                    consent_ids=[row.id],
                    actor=(initiator or requester).label(),
                    detail={"purpose": text, "period": f"{period_start}/{period_end}"},
                )
                created.append(row)
            db.commit()
            return [self._view(r, now) for r in created]

    def _check_parties(self, requester: Party, technician_ids: list[str]) -> list[str]:
        """The technicians asked (1 to MAX_TECHNICIANS, each registered), asked by a registered party."""
        ids = list(dict.fromkeys(technician_ids))
        if not ids or len(ids) > MAX_TECHNICIANS:
            raise ConsentError("no_technicians", message("consent.no_technicians"))
        if not self._directory.party_exists(requester) or requester.kind == "technician":
            raise ConsentError("unknown_requester", message("consent.unknown_requester"), status=404)
        unknown = [t for t in ids if not self._directory.technician_exists(t)]
        if unknown:
            raise ConsentError(
                "unknown_technician",
                message("consent.unknown_technicians", ids=", ".join(unknown[:5])),
                status=404,
            )
        return ids

    def _decide_as(self, consent_id: str, actor: Party, now: datetime, decision: str) -> ConsentView:
        with Session(self._engine, expire_on_commit=False) as db:
            row = _existing(db, consent_id)
            today = local_date(now)
            state = lc.state_at(row, today)
            side = lc.side_of(row, actor, self._directory.current_employer(row.technician_id, on=today))
            if state == lc.EXPIRED:
                raise ConsentError("expired", message("consent.expired"), status=409)
            if state in (lc.REJECTED, lc.REVOKED):
                raise ConsentError("closed", message("consent.closed_as", state=state), status=409)
            current = row.technician_decision if side == "technician" else row.employer_decision
            if current is not None:
                raise ConsentError("already_decided", message("consent.already_decided"), status=409)
            if side == "technician":
                row.technician_decision, row.technician_decided_at = decision, now
            else:
                row.employer_decision, row.employer_decided_at = decision, now
            row.state = lc.REJECTED if decision == lc.REFUSED else lc.state_at(row, today)
            row.updated_at = now
            db.add(row)
            records.append(
                db,
                kind=f"consent.{decision}",
                at=now,
                recipient=self._requester_label(row),
                technician_id=row.technician_id,
                items=row.groups,
                consent_ids=[row.id],
                actor=actor.label(),
                detail={"side": side, "state": row.state},
            )
            db.commit()
            return self._view(row, now)

    def approve(self, consent_id: str, actor: Party, *, now: datetime) -> ConsentView:
        return self._decide_as(consent_id, actor, now, lc.APPROVED)

    def refuse(self, consent_id: str, actor: Party, *, now: datetime) -> ConsentView:
        return self._decide_as(consent_id, actor, now, lc.REFUSED)

    def revoke(self, consent_id: str, actor: Party, *, now: datetime) -> ConsentView:
        """Either party may revoke at any time, alone; revocation wins over everything."""
        return self._revoke(consent_id, actor, None, now=now, reference=None)

    def revoke_on_request(
        self, consent_id: str, operator: Party, side: str, *, now: datetime, reference: str
    ) -> ConsentView:
        """The platform operator withdraws a consent on a written request of the technician
        (``side="technician"``) or of the current employer (``side="employer"``), as CCUS operators
        act on a 申請書 (docs/operations.md, "Revoking"). The side is checked as if it acted itself
        (``consent.lifecycle.side_of``: a former employer may not); the record names the operator as
        actor, acting for that side, with the request's ``reference``."""
        if operator.kind != "operator":
            raise ConsentError("not_a_party", message("consent.not_a_party"), status=403)
        if side not in ("technician", "employer"):
            raise ConsentError("no_such_side", message("consent.no_such_side"))
        text = unicodedata.normalize("NFC", reference or "").strip()
        if not text or len(text) > 200 or any(unicodedata.category(c) in ("Cc", "Cf") for c in text):
            raise ConsentError("reference_required", message("consent.reference_required"))
        return self._revoke(consent_id, operator, side, now=now, reference=text)

    def _revoke(
        self, consent_id: str, actor: Party, on_request_of: str | None, *, now: datetime, reference: str | None
    ) -> ConsentView:
        with Session(self._engine, expire_on_commit=False) as db:
            row = _existing(db, consent_id)
            current = self._directory.current_employer(row.technician_id, on=local_date(now))
            party = actor if on_request_of is None else lc.requesting_party(row, on_request_of)
            side = lc.side_of(row, party, current)
            if row.state == lc.REVOKED:
                raise ConsentError("already_revoked", message("consent.already_revoked"), status=409)
            row.state, row.revoked_by, row.updated_at = lc.REVOKED, side, now
            db.add(row)
            detail = {"side": side}
            if on_request_of is not None:
                actor = Party(actor.kind, actor.id, acting_for=party)
                detail["reference"] = reference or ""
            records.append(
                db,
                kind="consent.revoked",
                at=now,
                recipient=self._requester_label(row),
                technician_id=row.technician_id,
                items=row.groups,
                consent_ids=[row.id],
                actor=actor.label(),
                detail=detail,
            )
            db.commit()
            return self._view(row, now)

    def narrow(
        self, consent_id: str, actor: Party, groups: list[str], period_end: date, *, now: datetime
    ) -> ConsentView:
        """Narrowing (fewer groups, earlier end) needs no new approval; widening is a new request."""
        with Session(self._engine, expire_on_commit=False) as db:
            row = _existing(db, consent_id)
            is_requester = (actor.kind, actor.id) == (row.requester_kind, row.requester_id)
            if not is_requester:
                lc.side_of(row, actor, self._directory.current_employer(row.technician_id, on=local_date(now)))
            if not groups or not set(groups) <= set(row.groups) or period_end > row.period_end:
                raise ConsentError("widening", message("consent.widening"))
            if period_end < local_date(now) or period_end < row.period_start:
                raise ConsentError("bad_period", message("consent.bad_new_end"))
            if lc.state_at(row, local_date(now)) in lc.TERMINAL:
                raise ConsentError("closed", message("consent.closed"))
            row.groups, row.period_end, row.updated_at = list(dict.fromkeys(groups)), period_end, now
            db.add(row)
            records.append(
                db,
                kind="consent.narrowed",
                at=now,
                recipient=self._requester_label(row),
                technician_id=row.technician_id,
                items=row.groups,
                consent_ids=[row.id],
                actor=actor.label(),
                detail={"period_end": period_end.isoformat()},
            )
            db.commit()
            return self._view(row, now)
