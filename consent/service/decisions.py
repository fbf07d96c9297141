"""What a party may receive about a technician now (docs/domain.md rules 1-5, evaluated by Cedar over
the consents in force), and whether the consents a token relies on still hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, String, and_, bindparam, or_, select

from common.japan_time import local_date
from common.messages import message
from consent import lifecycle as lc
from consent.groups import ALL_GROUPS, FieldGroup
from consent.models import ConsentRequest
from consent.policy import history_scope
from consent.ports import ConsentError, Decision, Party, Reason
from consent.service.base import ServiceBase

_cr = ConsentRequest.__table__  # type: ignore[attr-defined]

#: What a decision reads of a consent request: plain rows, not ORM objects (issue 14).
_HELD = (
    _cr.c.id,
    _cr.c.groups,
    _cr.c.state,
    _cr.c.period_start,
    _cr.c.period_end,
    _cr.c.technician_decision,
    _cr.c.employer_id,
    _cr.c.employer_decision,
    _cr.c.updated_at,
)
#: The caller's consent requests about one technician, in one statement built once: those granted to
#: the principal or to the organisation it acts for (the same pair twice when it acts for nobody).
REQUESTS_OF = select(*_HELD).where(
    _cr.c.technician_id == bindparam("technician_id", type_=String),
    or_(
        and_(
            _cr.c.requester_kind == bindparam("kind", type_=String), _cr.c.requester_id == bindparam("id", type_=String)
        ),
        and_(
            _cr.c.requester_kind == bindparam("org_kind", type_=String),
            _cr.c.requester_id == bindparam("org_id", type_=String),
        ),
    ),
)

#: The consent requests a token relies on, by id (``active``).
BY_ID = select(*_HELD).where(_cr.c.id.in_(bindparam("ids", expanding=True)))


@dataclass(frozen=True)
class Held:
    """A consent request as a decision reads it (``lifecycle.Terms`` and the groups it covers)."""

    id: str
    groups: tuple[str, ...]
    state: str
    period_start: date
    period_end: date
    technician_decision: str | None
    employer_id: str | None
    employer_decision: str | None
    updated_at: datetime


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
            raise ConsentError("unknown_group", message("consent.unknown_group", groups=", ".join(unknown)))
        # One connection, two statements. The read-only transaction ends with COMMIT: psycopg drops
        # its prepared statements on ROLLBACK (a pooled connection's reset), and re-planning the
        # relationship statement costs more than the rest of the decision (issue 14).
        with self._engine.begin() as connection:
            relationship = self._directory.relationship(principal, technician_id, now=now, connection=connection)
            held = self._requests_of(connection, principal, technician_id)
        today = local_date(now)
        current = relationship.employer_id
        in_force: list[Held] = []
        pending: list[Held] = []
        for row in held:
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

    def _requests_of(self, connection: Connection, principal: Party, technician_id: str) -> list[Held]:
        """Consents granted to the principal, or to the organisation it acts for."""
        org = principal.organisation
        params: dict[str, Any] = {
            "technician_id": technician_id,
            "kind": principal.kind,
            "id": principal.id,
            "org_kind": org.kind,
            "org_id": org.id,
        }
        rows = connection.execute(REQUESTS_OF, params).all()
        return [Held(r.id, tuple(r.groups), *r[2:]) for r in rows]

    def active(self, consent_ids: tuple[str, ...], *, now: datetime) -> bool:
        """False once any consent a token relies on is revoked, refused or expired (revocation wins at
        once). A consent still awaiting the employer keeps the token usable; the data stays withheld."""
        if not consent_ids:
            return True
        with self._engine.begin() as connection:  # COMMIT: see decide
            rows = connection.execute(BY_ID, {"ids": list(consent_ids)}).all()
        if len(rows) != len(set(consent_ids)):
            return False
        today = local_date(now)
        return all(lc.state_at(Held(r.id, tuple(r.groups), *r[2:]), today) not in lc.TERMINAL for r in rows)
