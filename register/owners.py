"""Who a registered system (OAuth client) belongs to and acts for: a company (所属事業者, 元請 ...) or
an orderer (発注者), never both.

The owner is the organisation whose relationships the client's calls carry (the consent engine's
directory computes them for ``Party.organisation``): a company's system sees what that company
may see (docs/domain.md rules 1-4); an orderer's system sees the roster fields and attendance of the
orderer's own active projects and nothing else (rule 5, policy
``orderer-sees-own-project-roster-and-attendance``). A client with no owner acts for nobody and
sees only what two-party consents give it (rule 1).
"""

from __future__ import annotations

from sqlalchemy import ScalarSelect
from sqlmodel import Session, col, select

from common.messages import message
from consent.ports import Party
from idp.models import Employer, OAuthClient
from idp.public import FieldProblem, find_employer, normalise_14_digit_id
from register.models import Orderer


def owner_party(session: Session, client: OAuthClient) -> Party | None:
    """The organisation ``client`` acts for, as a consent-engine party, or ``None``."""
    if client.owner_employer_pk is not None:
        employer = session.get(Employer, client.owner_employer_pk)
        return Party("company", employer.employer_id) if employer else None
    if client.owner_orderer_pk is not None:
        orderer = session.get(Orderer, client.owner_orderer_pk)
        return Party("orderer", orderer.orderer_code) if orderer else None
    return None


def owner_column(client: OAuthClient) -> ScalarSelect[str] | None:
    """``owner_party`` as a scalar subquery, to be read in a statement the caller makes anyway
    (``register.principal.caller_from_grant``); ``None`` for a client nobody owns."""
    if client.owner_employer_pk is not None:
        return select(col(Employer.employer_id)).where(col(Employer.id) == client.owner_employer_pk).scalar_subquery()
    if client.owner_orderer_pk is not None:
        return select(col(Orderer.orderer_code)).where(col(Orderer.id) == client.owner_orderer_pk).scalar_subquery()
    return None


def owner_from(client: OAuthClient, value: str | None) -> Party | None:
    """The owner from the value ``owner_column`` read (None: the owner row is gone, as ``owner_party``)."""
    if value is None:
        return None
    return Party("company" if client.owner_employer_pk is not None else "orderer", value)


def systems_of(*, session: Session, employer: Employer) -> list[OAuthClient]:
    """The systems (clients) the company owns and that still work, by name: the employer page's
    自社のシステム, where its administrator rotates their secrets (``register/employer_systems.py``)."""
    stmt = (
        select(OAuthClient)
        .where(col(OAuthClient.owner_employer_pk) == employer.id)
        .where(col(OAuthClient.disabled).is_(False))
        .order_by(col(OAuthClient.client_name), col(OAuthClient.client_id))
    )
    return list(session.exec(stmt).all())


def find_orderer(*, session: Session, orderer_code: str) -> Orderer | None:
    return session.exec(select(Orderer).where(col(Orderer.orderer_code) == orderer_code)).first()


def set_owner(
    *, session: Session, client: OAuthClient, employer_id: str | None = None, orderer_code: str | None = None
) -> Party | None:
    """Make ``client`` belong to a registered company or orderer (one of them, at most)."""
    if employer_id and orderer_code:
        raise FieldProblem(
            "owner",
            message("field.owner_both"),
        )
    client.owner_employer_pk = client.owner_orderer_pk = None
    if employer_id:
        employer = find_employer(
            session=session, employer_id=normalise_14_digit_id(employer_id, field="owner_employer_id")
        )
        if employer is None or employer.id is None:
            raise FieldProblem("owner_employer_id", message("field.owner_unknown_employer"))
        client.owner_employer_pk = employer.id
    elif orderer_code:
        orderer = find_orderer(session=session, orderer_code=orderer_code.strip())
        if orderer is None or orderer.id is None:
            raise FieldProblem("owner_orderer_id", message("field.owner_unknown_orderer"))
        client.owner_orderer_pk = orderer.id
    session.add(client)
    return owner_party(session, client)
