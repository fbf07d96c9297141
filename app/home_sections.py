"""The home's section for the role only the register knows: the gate staff of a prime contractor's
sites (issue 15 item 4). Any staff member of a site's prime contractor runs its gates
(``app/gate_wiring.py``, ``RegisterGate.operator``) and sees its day's list (``app/history_pages.py``),
so a staff member whose company is the prime contractor of an open site gets the gate app and, per
site, today's entries. idp's account page asks this through ``IdpRuntime.home_sections``
(``idp/web/home.py``), given in ``app/runtimes.py``.
"""

from __future__ import annotations

from urllib.parse import quote

from sqlmodel import Session, col, select

from idp.models import Account
from idp.public import HomeAction, HomeSection, staff_for_account
from register.models import Site


def gate_sections(db: Session, account: Account) -> list[HomeSection]:
    """「現場ゲート」: the gate app and each open site's 本日の入退場, for the prime contractor's staff."""
    if account.id is None:
        return []
    staff = staff_for_account(session=db, account_id=account.id)
    if staff is None:
        return []
    sites = db.exec(
        select(Site)
        .where(col(Site.prime_employer_pk) == staff[1].id)
        .where(col(Site.closed_at).is_(None))
        .order_by(col(Site.site_id))
    ).all()
    if not sites:
        return []
    actions = [HomeAction("gate-app-link", "/gate/app", "home.gate_app")]
    actions += [
        HomeAction(
            f"site-today-{site.site_id}",
            f"/sites/{quote(site.site_id, safe='')}/today",
            "home.site_today",
            {"site": site.name},
        )
        for site in sites
    ]
    return [HomeSection("home-gate", "home.gate", tuple(actions))]
