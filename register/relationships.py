"""Rules 2-5 of docs/domain.md as facts about a principal and a technician, read in one statement.

A consent decision needs the technician's current affiliation (rule 1's current employer, rule 3's
contact substitution), the organisation the principal acts for, and, for every site where the
technician is assigned, the site's chain of tiers (rule 2's upper tiers, rule 4's proxy
registrations, rule 5's orderer). :data:`FACTS` fetches all of it in one SQL statement, built once
(issue 14: one statement per decision instead of four to six ORM queries); :func:`relationship`
applies the same checks as before to its rows: ``register.repository.site_active`` and
``assignment_active`` decide which sites count, and the tiers are walked in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Date, Integer, String, and_, bindparam, or_, select
from sqlalchemy.sql import Select

from common.japan_time import local_date
from consent.ports import Party, Relationship
from idp.models import Affiliation, Employer, Technician
from register import substitution
from register.models import Orderer, Site, SiteAssignment, SiteCompany
from register.repository import assignment_active, site_active

_t, _a, _e = Technician.__table__, Affiliation.__table__, Employer.__table__  # type: ignore[attr-defined]
_o, _s = Orderer.__table__, Site.__table__  # type: ignore[attr-defined]
_sa, _sc = SiteAssignment.__table__, SiteCompany.__table__  # type: ignore[attr-defined]
_principal = _e.alias("principal_employer")


@dataclass(frozen=True)
class SiteFacts:
    """The columns of a site that ``site_active`` reads, and its ids."""

    site_id: str
    orderer_pk: int | None
    closed_at: datetime | None
    starts_on: date
    ends_on: date | None


@dataclass(frozen=True)
class AssignmentFacts:
    """The columns of an assignment that ``assignment_active`` and the tier walk read."""

    employer_pk: int
    start_date: date
    end_date: date | None
    registered_by_employer_pk: int | None


@dataclass
class _Assignment:
    facts: AssignmentFacts
    site: SiteFacts
    #: the site's chain of tiers: company -> (parent company, who registered it on its behalf)
    chain: dict[int, tuple[int | None, int | None]]


def _statement() -> Select[Any]:
    """One row per (assignment, company on that site); the technician and affiliation columns repeat.

    The SQL prefilter on assignments (not ended before today) and sites (not closed) is implied by
    ``assignment_active`` and ``site_active``, which still decide on every row."""
    today = bindparam("today", type_=Date)
    current = (
        select(_a.c.id)
        .where(_a.c.technician_pk == _t.c.id, _a.c.start_date <= today)
        .where(or_(_a.c.end_date.is_(None), _a.c.end_date >= today))
        .order_by(_a.c.start_date.desc(), _a.c.id.desc())
        .limit(1)
        .correlate(_t)
        .scalar_subquery()
    )
    principal_pk = select(_principal.c.id).where(_principal.c.employer_id == bindparam("company", type_=String))
    orderer_pk = select(_o.c.id).where(_o.c.orderer_code == bindparam("orderer", type_=String))
    on_sites = and_(
        _sa.c.technician_pk == _t.c.id,
        bindparam("with_sites", type_=Integer) == 1,
        or_(_sa.c.end_date.is_(None), _sa.c.end_date >= today),
    )
    return (
        select(
            _t.c.id.label("technician_pk"),
            _a.c.contact_substitution.label("affiliation_substitution"),
            _e.c.id.label("employer_pk"),
            _e.c.employer_id,
            _e.c.contact_substitution.label("employer_substitution"),
            principal_pk.scalar_subquery().label("principal_pk"),
            orderer_pk.scalar_subquery().label("orderer_pk"),
            _sa.c.id.label("assignment_pk"),
            _sa.c.employer_pk.label("assigned_through_pk"),
            _sa.c.start_date,
            _sa.c.end_date,
            _sa.c.registered_by_employer_pk.label("assignment_registered_by_pk"),
            _s.c.site_id,
            _s.c.orderer_pk.label("site_orderer_pk"),
            _s.c.closed_at,
            _s.c.starts_on,
            _s.c.ends_on,
            _sc.c.employer_pk.label("company_pk"),
            _sc.c.parent_employer_pk,
            _sc.c.registered_by_employer_pk.label("company_registered_by_pk"),
        )
        .select_from(
            _t.outerjoin(_a, _a.c.id == current)
            .outerjoin(_e, _e.c.id == _a.c.employer_pk)
            .outerjoin(_sa, on_sites)
            .outerjoin(_s, and_(_s.c.id == _sa.c.site_pk, _s.c.closed_at.is_(None)))
            .outerjoin(_sc, _sc.c.site_pk == _s.c.id)
        )
        .where(_t.c.technician_id == bindparam("technician_id", type_=String))
    )


#: The statement, built once; SQLAlchemy compiles it once per dialect and caches the compiled form.
FACTS = _statement()


def _ancestors(chain: dict[int, tuple[int | None, int | None]], employer_pk: int) -> set[int]:
    """The companies above ``employer_pk`` in a site's chain of tiers (a loop in the chain ends the walk)."""
    ancestors: set[int] = set()
    own = chain.get(employer_pk)
    pk = own[0] if own else None
    while pk is not None and pk in chain and pk not in ancestors:
        ancestors.add(pk)
        pk = chain[pk][0]
    return ancestors


def _assignments(rows: Sequence[Any]) -> list[_Assignment]:
    out: dict[int, _Assignment] = {}
    for row in rows:
        if row.assignment_pk is None or row.site_id is None:
            continue
        item = out.get(row.assignment_pk)
        if item is None:
            facts = AssignmentFacts(
                row.assigned_through_pk, row.start_date, row.end_date, row.assignment_registered_by_pk
            )
            site = SiteFacts(row.site_id, row.site_orderer_pk, row.closed_at, row.starts_on, row.ends_on)
            item = out[row.assignment_pk] = _Assignment(facts, site, {})
        if row.company_pk is not None:
            item.chain[row.company_pk] = (row.parent_employer_pk, row.company_registered_by_pk)
    return list(out.values())


def relationship(connection: Connection, principal: Party, technician_id: str, *, now: datetime) -> Relationship:
    """Rules 2-5 of docs/domain.md as facts: self, current employer, upper tier on an active site where
    the technician is assigned, orderer of such a project, proxy registration (which grants nothing).

    Relationships are those of the organisation the principal acts for."""
    today = local_date(now)
    org = principal.organisation
    params = {
        "technician_id": technician_id,
        "today": today,
        "company": org.id if org.kind == "company" else None,
        "orderer": org.id if org.kind == "orderer" else None,
        "with_sites": 0 if org.kind == "technician" else 1,
    }
    rows = connection.execute(FACTS, params).all()
    if not rows:
        return Relationship()
    first = rows[0]
    employed = first.employer_pk is not None
    facts: dict[str, Any] = {
        "employer_id": first.employer_id,
        # rule 3: the employer's default, or its choice for this technician
        "contact_substitution": employed
        and substitution.effective_value(first.employer_substitution, first.affiliation_substitution),
    }
    if org.kind == "technician":
        return Relationship(is_self=org.id == technician_id, **facts)
    principal_pk, orderer_pk = first.principal_pk, first.orderer_pk
    upper: set[str] = set()
    ordered: set[str] = set()
    proxy: set[str] = set()
    for item in _assignments(rows):
        site, assignment = item.site, item.facts
        if not (site_active(site, now) and assignment_active(assignment, today)):
            continue
        if orderer_pk is not None and site.orderer_pk == orderer_pk:
            ordered.add(site.site_id)
        if principal_pk is None:
            continue
        # Upper tiers only: the companies above the one the technician works through. That
        # company itself sees the technician only as the current employer (rule 1).
        if principal_pk in _ancestors(item.chain, assignment.employer_pk):
            upper.add(site.site_id)
        elif assignment.registered_by_employer_pk == principal_pk or any(
            registered_by == principal_pk for _, registered_by in item.chain.values()
        ):
            proxy.add(site.site_id)
    return Relationship(
        current_employer=employed and principal_pk is not None and first.employer_pk == principal_pk,
        upper_tier_sites=tuple(sorted(upper)),
        orderer_sites=tuple(sorted(ordered)),
        proxy_sites=tuple(sorted(proxy)),
        **facts,
    )
