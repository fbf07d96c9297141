"""The consent engine behind :class:`consent.ports.ConsentPort`: requests, two-party approval,
decisions (Cedar), disclosure records. Each operation is one transaction: it changes nothing
when it refuses, and records what it did in the hash chain."""

from __future__ import annotations

import contextlib
import secrets
import unicodedata
from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import Engine, or_
from sqlmodel import Session, col, select

from common.japan_time import add_years, local_date
from consent import lifecycle as lc
from consent import records
from consent.groups import ALL_GROUPS, FieldGroup
from consent.models import ConsentRequest
from consent.policy import PolicyEngine, history_scope
from consent.ports import ConsentError, ConsentView, Decision, Directory, Party, PartyDecision, Reason
from consent.receipt import kantara_receipt, readable_receipt

MAX_YEARS = 2
MAX_TECHNICIANS = 10_000


def _check_purpose(purpose: str) -> str:
    text = unicodedata.normalize("NFC", purpose or "").strip()
    if not text:
        raise ConsentError("purpose_required", "利用目的を入力してください", "a purpose is required")
    if len(text) > 500 or any(unicodedata.category(c) in ("Cc", "Cf") for c in text):
        raise ConsentError(
            "purpose_invalid",
            "利用目的が長すぎるか制御文字を含みます",
            "the purpose is too long or contains control characters",
        )
    return text


class ConsentService:
    def __init__(
        self, engine: Engine, directory: Directory, policy: PolicyEngine, new_id: Callable[[], str] | None = None
    ) -> None:
        self._engine = engine
        self._directory = directory
        self._policy = policy
        self._new_id = new_id or (lambda: secrets.token_urlsafe(16))

    # -- decisions ----------------------------------------------------------------------

    def decide(
        self,
        principal: Party,
        technician_id: str,
        groups: tuple[str, ...],
        *,
        now: datetime,
        consent_ids: tuple[str, ...] | None = None,
    ) -> Decision:
        unknown = [g for g in groups if g not in ALL_GROUPS]
        if unknown:
            raise ConsentError("unknown_group", "不明な項目グループです", f"unknown field groups: {', '.join(unknown)}")
        relationship = self._directory.relationship(principal, technician_id, now=now)
        today = local_date(now)
        current = relationship.employer_id
        in_force: list[ConsentRequest] = []
        pending: list[ConsentRequest] = []
        with Session(self._engine) as db:
            for row in self._requests_of(db, principal, technician_id):
                if consent_ids is not None and row.id not in consent_ids:
                    continue
                (in_force if lc.in_force(row, today, current) else pending).append(row)
        consented = frozenset(g for row in in_force for g in row.groups)
        evaluation = self._policy.evaluate(principal, relationship, groups, consented)
        missing: dict[str, Reason] = {}
        for group in groups:
            if group in evaluation.allowed:
                continue
            if group in evaluation.forbidden:
                missing[group] = lc.TECHNICIAN_ONLY
                continue
            covering = [r for r in pending if group in r.groups]
            missing[group] = (
                lc.why_not(max(covering, key=lambda r: r.updated_at), today, current) if covering else lc.NO_CONSENT
            )
        contact = (
            FieldGroup.contact in evaluation.allowed
            and relationship.contact_substitution
            and not (relationship.is_self or relationship.current_employer)
        )
        used = tuple(sorted(r.id for r in in_force if set(r.groups) & evaluation.allowed))
        rules = tuple(sorted({rule for g in evaluation.allowed for rule in evaluation.rules_by_group.get(g, ())}))
        return Decision(
            allowed=evaluation.allowed,
            rules=rules,
            missing=missing,
            work_history_sites=history_scope(evaluation, relationship),
            contact_substituted=contact,
            consent_ids=used,
        )

    def _requests_of(self, db: Session, principal: Party, technician_id: str) -> list[ConsentRequest]:
        """Consents granted to the principal, or to the organisation it acts for."""
        parties = {(principal.kind, principal.id), (principal.organisation.kind, principal.organisation.id)}
        clauses = [
            (col(ConsentRequest.requester_kind) == k) & (col(ConsentRequest.requester_id) == i) for k, i in parties
        ]
        stmt = select(ConsentRequest).where(col(ConsentRequest.technician_id) == technician_id).where(or_(*clauses))
        return list(db.exec(stmt).all())

    def active(self, consent_ids: tuple[str, ...], *, now: datetime) -> bool:
        """False once any consent a token relies on is revoked, refused or expired (revocation wins at
        once). A consent still awaiting the employer keeps the token usable; the data stays withheld."""
        if not consent_ids:
            return True
        with Session(self._engine) as db:
            rows = db.exec(select(ConsentRequest).where(col(ConsentRequest.id).in_(consent_ids))).all()
            if len(rows) != len(set(consent_ids)):
                return False
            return all(lc.state_at(r, local_date(now)) not in lc.TERMINAL for r in rows)

    # -- lifecycle ----------------------------------------------------------------------

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
        text = _check_purpose(purpose)
        wanted = list(dict.fromkeys(groups))
        if not wanted or any(g not in ALL_GROUPS for g in wanted):
            raise ConsentError("unknown_group", "不明な項目グループがあります", "unknown or no field groups")
        if period_start < local_date(now) or period_end < period_start:
            raise ConsentError(
                "bad_period",
                "期間が過去か、終了日が開始日より前です",
                "the period must not be in the past and must end after it starts",
            )
        if period_end > add_years(period_start, MAX_YEARS):
            raise ConsentError("period_too_long", "期間が長すぎます（最長2年）", "the period is longer than 2 years")
        ids = list(dict.fromkeys(technician_ids))
        if not ids or len(ids) > MAX_TECHNICIANS:
            raise ConsentError(
                "no_technicians", "対象の技能者を指定してください", "name between 1 and 10,000 technicians"
            )
        if not self._directory.party_exists(requester) or requester.kind == "technician":
            raise ConsentError(
                "unknown_requester", "依頼者が登録されていません", "the requester is not registered", 404
            )
        initiator = requester.acting_for if employer_initiated else None
        unknown = [t for t in ids if not self._directory.technician_exists(t)]
        if unknown:
            raise ConsentError(
                "unknown_technician",
                "登録されていない技能者IDがあります",
                f"unknown technicians: {', '.join(unknown[:5])}",
                404,
            )
        batch, created = self._new_id(), []
        with Session(self._engine, expire_on_commit=False) as db:
            for tid in ids:
                employer = self._directory.current_employer(tid, on=local_date(now))
                if initiator is not None and (
                    initiator.kind != "company" or employer != initiator.id or initiator.role != "admin"
                ):
                    raise ConsentError(
                        "not_employer",
                        "自社の技能者のみを対象にできます",
                        "an employer can start grants only for its own technicians",
                        403,
                    )
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

    def _decide_as(self, consent_id: str, actor: Party, now: datetime, decision: str) -> ConsentView:
        with Session(self._engine, expire_on_commit=False) as db:
            row = db.get(ConsentRequest, consent_id)
            if row is None:
                raise ConsentError("not_found", "同意依頼が見つかりません", "no such consent request", 404)
            today = local_date(now)
            state = lc.state_at(row, today)
            side = lc.side_of(row, actor, self._directory.current_employer(row.technician_id, on=today))
            if state == lc.EXPIRED:
                raise ConsentError("expired", "期限切れの依頼です", "the request has expired", 409)
            if state in (lc.REJECTED, lc.REVOKED):
                raise ConsentError("closed", "この依頼は終了しています", f"the request is {state}", 409)
            current = row.technician_decision if side == "technician" else row.employer_decision
            if current is not None:
                raise ConsentError("already_decided", "既に回答済みです", "this party has already decided", 409)
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
        with Session(self._engine, expire_on_commit=False) as db:
            row = db.get(ConsentRequest, consent_id)
            if row is None:
                raise ConsentError("not_found", "同意依頼が見つかりません", "no such consent request", 404)
            side = lc.side_of(row, actor, self._directory.current_employer(row.technician_id, on=local_date(now)))
            if row.state == lc.REVOKED:
                raise ConsentError("already_revoked", "既に取り消されています", "already revoked", 409)
            row.state, row.revoked_by, row.updated_at = lc.REVOKED, side, now
            db.add(row)
            records.append(
                db,
                kind="consent.revoked",
                at=now,
                recipient=self._requester_label(row),
                technician_id=row.technician_id,
                items=row.groups,
                consent_ids=[row.id],
                actor=actor.label(),
                detail={"side": side},
            )
            db.commit()
            return self._view(row, now)

    def narrow(
        self, consent_id: str, actor: Party, groups: list[str], period_end: date, *, now: datetime
    ) -> ConsentView:
        """Narrowing (fewer groups, earlier end) needs no new approval; widening is a new request."""
        with Session(self._engine, expire_on_commit=False) as db:
            row = db.get(ConsentRequest, consent_id)
            if row is None:
                raise ConsentError("not_found", "同意依頼が見つかりません", "no such consent request", 404)
            is_requester = (actor.kind, actor.id) == (row.requester_kind, row.requester_id)
            if not is_requester:
                lc.side_of(row, actor, self._directory.current_employer(row.technician_id, on=local_date(now)))
            if not groups or not set(groups) <= set(row.groups) or period_end > row.period_end:
                raise ConsentError(
                    "widening",
                    "項目や期間を広げるには新しい同意が必要です",
                    "widening fields or period needs a new request and new approval",
                )
            if period_end < local_date(now) or period_end < row.period_start:
                raise ConsentError(
                    "bad_period",
                    "終了日が過去か開始日より前です",
                    "the new end date is in the past or before the start",
                )
            if lc.state_at(row, local_date(now)) in lc.TERMINAL:
                raise ConsentError("closed", "この依頼は終了しています", "the request is closed")
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

    # -- reading ------------------------------------------------------------------------

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

    def receipt(self, consent_id: str, *, now: datetime) -> dict[str, object] | None:
        view = self.get(consent_id, now=now)
        return kantara_receipt(view) if view else None

    def receipt_for(self, consent_id: str, reader: Party, *, now: datetime) -> dict[str, object] | None:
        """The receipt as ``reader`` may read it (``consent.receipt.readable_receipt``), or ``None``."""
        view = self.get(consent_id, now=now)
        if view is None:
            return None
        return readable_receipt(view, reader, self._directory.current_employer(view.technician_id, on=local_date(now)))

    def verify_records(self) -> tuple[bool, int, str | None]:
        with Session(self._engine) as db:
            ok, count, bad = records.verify(db)
        return ok, count, None if bad is None else str(bad)

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
