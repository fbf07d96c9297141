"""What a party may receive about a technician now (MISSION.md rules 1-5, evaluated by Cedar over
the consents in force), and whether the consents a token relies on still hold."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from common.japan_time import local_date
from consent import lifecycle as lc
from consent.groups import ALL_GROUPS, FieldGroup
from consent.models import ConsentRequest
from consent.policy import history_scope
from consent.ports import ConsentError, Decision, Party, Reason
from consent.service.base import ServiceBase


class Decisions(ServiceBase):
    """Decisions on disclosure: ``decide`` and ``active``."""

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
