"""The home after sign-in (``/account``): one section per role of the signed-in person, each with
exactly that role's actions (issue 15 item 4: employer staff and gate staff were shown the
technician's buttons, which led to sign-in, 「技能者のみ」 or 403).

The roles idp knows are decided here — 技能者 (a technician record), 事業者の管理者/担当者 (an
employer staff row and its role), 運営者 (an operator account). Roles only the register knows (the
gate staff of a prime contractor's sites) come from the application: it gives its own
:data:`SectionSource` callables to the runtime it builds (``IdpRuntime.home_sections``,
``app/home_sections.py``), and :func:`sections_for` asks them after idp's own. A person with two
roles sees both sections.

A section links only to pages that answer that role with 200 — the home never leads its reader to
a refusal or back to sign-in (tests/integration/app/test_home_roles.py follows every link per role);
a role with no pages of its own (the operator, who works with the ``genba`` command) gets a plain
note and no link.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlmodel import Session

from idp import accounts
from idp.models import Account, AccountKind, StaffRole


@dataclass(frozen=True)
class HomeAction:
    """One link of a section: its element id, where it goes, and its label (a key of
    ``idp/web/i18n.py`` with its placeholder values)."""

    id: str
    href: str
    label_key: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HomeSection:
    """One role's part of the home: a title, its actions, and a note when it has no pages."""

    id: str
    title_key: str
    actions: tuple[HomeAction, ...] = ()
    note_key: str | None = None
    values: dict[str, str] = field(default_factory=dict)


#: the application's sections for roles idp does not know (``IdpRuntime.home_sections``)
SectionSource = Callable[[Session, Account], Sequence[HomeSection]]

TECHNICIAN = HomeSection(
    "home-technician",
    "home.technician",
    (
        HomeAction("certificates-link", "/certificates", "nav.certificates"),
        HomeAction("wallet-link", "/wallet/add", "nav.wallet"),
        HomeAction("wallet-app-link", "/wallet/app", "home.wallet_app"),
        HomeAction("history-link", "/history", "nav.history"),
        HomeAction("consent-link", "/consent", "nav.consent"),
    ),
)

OPERATOR = HomeSection("home-operator", "home.operator", note_key="home.operator_note")


def employer_section(role: str, trade_name: str) -> HomeSection:
    """An employer's staff: its consent approvals and its technicians. Only an administrator decides;
    other staff see the same pages read-only (consent_pages.py, register/employer_pages.py), and
    their labels say so."""
    admin = role == StaffRole.admin
    return HomeSection(
        "home-employer",
        "home.employer_admin" if admin else "home.employer_staff",
        (
            HomeAction(
                "employer-consent-link", "/consent/employer", "home.approvals" if admin else "home.approvals_view"
            ),
            HomeAction(
                "employer-technicians-link",
                "/employer/technicians",
                "home.technicians" if admin else "home.technicians_view",
            ),
        ),
        values={"employer": trade_name},
    )


def idp_sections(db: Session, account: Account) -> list[HomeSection]:
    """The sections of the roles idp itself records for ``account``."""
    assert account.id is not None
    sections: list[HomeSection] = []
    if accounts.technician_for_account(session=db, account_id=account.id) is not None:
        sections.append(TECHNICIAN)
    staff = accounts.staff_for_account(session=db, account_id=account.id)
    if staff is not None:
        sections.append(employer_section(staff[0].role, staff[1].trade_name))
    if account.kind == AccountKind.operator:
        sections.append(OPERATOR)
    return sections


def sections_for(sources: Sequence[SectionSource], db: Session, account: Account) -> list[HomeSection]:
    """Every section of ``account``'s roles: idp's, then those of the application's ``sources``."""
    sections = idp_sections(db, account)
    for source in sources:
        sections.extend(source(db, account))
    return sections
