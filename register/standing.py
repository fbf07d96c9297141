"""Which sites a caller may ask about at all (``/api/v1/sites/{site}/roster``).

A site's roster (作業員名簿) is a document of the site's parties: the companies of its 施工体制
(docs/domain.md rule 2; each still sees only the technicians the consent engine allows it) and the
orderer (発注者) of the project (rule 5). Anyone else is answered exactly as for a site that does not
exist, so the answer tells nothing about other orderers' projects or other companies' sites, not
even that they exist. A company that only registered others on a site (代行) is not on its 施工体制
and has no standing there (rule 4).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from consent.ports import Party
from idp.models import Employer
from register.models import Orderer, Site, SiteCompany


def has_standing(session: Session, site: Site, organisation: Party) -> bool:
    """True when ``organisation`` (the party a caller acts for) is a company on the site's 施工体制
    or the site's orderer."""
    if organisation.kind == "orderer":
        orderer = session.exec(select(Orderer).where(col(Orderer.orderer_code) == organisation.id)).first()
        return orderer is not None and orderer.id is not None and site.orderer_pk == orderer.id
    if organisation.kind == "company":
        on_site = session.exec(
            select(SiteCompany.id)
            .join(Employer, col(SiteCompany.employer_pk) == Employer.id)
            .where(col(SiteCompany.site_pk) == site.id)
            .where(col(Employer.employer_id) == organisation.id)
        ).first()
        return on_site is not None
    return False
