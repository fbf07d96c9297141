"""Consent request states and who may move them (issue 4, item 4), as named checks with reasons."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from common.messages import message
from consent.models import ConsentRequest
from consent.ports import ConsentError, ConsentState, Party, PartyDecision, Reason

AWAITING, ACTIVE = ConsentState.awaiting, ConsentState.active
REJECTED, EXPIRED, REVOKED = ConsentState.rejected, ConsentState.expired, ConsentState.revoked
TERMINAL = (REJECTED, EXPIRED, REVOKED)
APPROVED, REFUSED = PartyDecision.approved, PartyDecision.refused

AWAITING_TECHNICIAN = Reason("awaiting_technician", "技能者の同意待ち", "awaiting the technician's approval")
AWAITING_EMPLOYER = Reason("awaiting_employer", "所属事業者の同意待ち", "awaiting the employer's approval")
AWAITING_BOTH = Reason(
    "awaiting_both", "技能者と所属事業者の同意待ち", "awaiting approval by the technician and the employer"
)
NO_CONSENT = Reason("no_consent", "同意がありません（既定で非開示）", "no consent: not disclosed by default")
REFUSED_REASON = Reason("refused", "同意が拒否されました", "consent was refused")
REVOKED_REASON = Reason("revoked", "同意が取り消されました", "consent was revoked")
EXPIRED_REASON = Reason("expired", "同意の期限が切れました", "consent has expired")
EMPLOYER_CHANGED = Reason(
    "employer_changed",
    "所属事業者が変わったため再同意が必要です",
    "the employer changed: the new employer must approve",
)
TECHNICIAN_ONLY = Reason("technician_only", "本人以外には開示されません", "shown to nobody but the technician")


class Terms(Protocol):
    """What the state checks read: a ``ConsentRequest`` row, or the same columns (``consent.service.decisions``)."""

    @property
    def state(self) -> str: ...
    @property
    def period_start(self) -> date: ...
    @property
    def period_end(self) -> date: ...
    @property
    def technician_decision(self) -> str | None: ...
    @property
    def employer_id(self) -> str | None: ...
    @property
    def employer_decision(self) -> str | None: ...


def state_at(row: Terms, today: date) -> ConsentState:
    """The state on ``today``: terminal states stay; otherwise expiry, then both approvals."""
    if row.state in (REJECTED, REVOKED):
        return ConsentState(row.state)
    if row.period_end < today:
        return EXPIRED
    if row.technician_decision == APPROVED and (row.employer_id is None or row.employer_decision == APPROVED):
        return ACTIVE
    return AWAITING


def in_force(row: Terms, today: date, current_employer: str | None) -> bool:
    """Active, within its period, and approved by the employer the technician has *now*."""
    return state_at(row, today) == ACTIVE and row.period_start <= today and row.employer_id == current_employer


def why_not(row: Terms, today: date, current_employer: str | None) -> Reason:
    state = state_at(row, today)
    if state == REVOKED:
        return REVOKED_REASON
    if state == REJECTED:
        return REFUSED_REASON
    if state == EXPIRED:
        return EXPIRED_REASON
    if row.employer_id != current_employer:
        return EMPLOYER_CHANGED
    tech_ok = row.technician_decision == APPROVED
    emp_ok = row.employer_id is None or row.employer_decision == APPROVED
    if not tech_ok and not emp_ok:
        return AWAITING_BOTH
    if not tech_ok:
        return AWAITING_TECHNICIAN
    if not emp_ok:
        return AWAITING_EMPLOYER
    return Reason("not_started", "開始日前です", "the consent period has not started")


def side_of(row: ConsentRequest, actor: Party, current_employer: str | None) -> str:
    """Which party ``actor`` decides for: ``technician`` or ``employer``; anyone else is refused."""
    if actor.kind == "technician" and actor.id == row.technician_id:
        return "technician"
    if actor.kind == "company" and row.employer_id is not None and actor.id == row.employer_id:
        if current_employer != row.employer_id:
            raise ConsentError("not_current_employer", message("consent.not_current_employer"), status=403)
        if actor.role != "admin":
            raise ConsentError("not_admin", message("consent.not_admin"), status=403)
        return "employer"
    raise ConsentError("not_a_party", message("consent.not_a_party"), status=403)


def requesting_party(row: ConsentRequest, side: str) -> Party:
    """The party on whose written request an operator withdraws ``row``: the technician, or the
    employer's administrator (the employer that approved it, ``side_of`` checks it is still current)."""
    if side == "technician":
        return Party("technician", row.technician_id)
    if side == "employer" and row.employer_id is not None:
        return Party("company", row.employer_id, role="admin")
    raise ConsentError("not_a_party", message("consent.not_a_party"), status=403)
