"""Hole 2 (issue 12): standard OpenID Connect claims bypassed the consent engine.

Before the fix, with the scopes ``profile phone address`` (and in ID tokens through the ``claims``
parameter) a relying party got the technician's own name, gender, birth date, phone and address
after the technician alone clicked 許可する: no employer approval, no disclosure record, the
personal contact even where the employer substitutes the company's, while ``ccus_withheld`` in the
same response said ``birth_date: no_consent``. Each test runs the code flow over HTTP against the
real server, as the relying party would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from idp.models import Employer
from tests.security.oidc_rp import (
    COMPANY_ADDRESS,
    COMPANY_PHONE,
    IN_ID_TOKEN,
    PERSONAL_ADDRESS,
    PERSONAL_PHONE,
    STANDARD,
    both_approve,
    code_flow,
    disclosures,
    new_employer,
    payload,
    refresh,
    userinfo,
)
from tests.support.http_user import Credentials, HttpUser
from tests.support.server import LiveServer

TECHNICIAN_CLAIMS = {
    "name",
    "family_name",
    "given_name",
    "name#ja-Kana-JP",
    "family_name#ja-Kana-JP",
    "given_name#ja-Kana-JP",
    "gender",
    "birthdate",
    "locale",
    "updated_at",
    "phone_number",
    "phone_number_verified",
    "address",
}


def test_a_third_party_gets_no_technician_claims_by_scope_alone(
    server: LiveServer,
    users: Callable[..., HttpUser],
    technician: Callable[..., Credentials],
    client_app: Callable[..., dict[str, Any]],
) -> None:
    """docs/domain.md rule 1 (not disclosed by default; both approvals for anyone else) and rule 6 (every
    disclosure recorded): a third-party client asking for ``openid profile phone address``, in userinfo
    and in the ID token (OIDC Core §5.5 ``claims``), gets none of the technician's claims after the
    technician alone approved, and ``ccus_withheld`` names each withheld group with the engine's reason."""
    person = users(server, technician()).sign_in()
    client = client_app()

    tokens = code_flow(person, client, scope=STANDARD, claims=IN_ID_TOKEN)

    info = userinfo(server, tokens["access_token"])
    assert not TECHNICIAN_CLAIMS & set(info), info
    assert info["ccus_withheld"] == {"identity": "no_consent", "birth_date": "no_consent", "contact": "no_consent"}
    id_token = payload(tokens["id_token"])
    assert not TECHNICIAN_CLAIMS & set(id_token), id_token
    assert disclosures(person, client["client_id"]) == []


def test_with_both_approvals_the_claims_leave_and_are_recorded(
    server: LiveServer,
    users: Callable[..., HttpUser],
    technician: Callable[..., Credentials],
    staff: Callable[..., Credentials],
    client_app: Callable[..., dict[str, Any]],
) -> None:
    """Rule 1 and rule 6: under a consent of the technician *and* the employer for identity, birth date
    and contact, userinfo returns the standard claims (nothing while the employer has not approved),
    and each release is a disclosure record naming the client, the items, the consent and the channel."""
    employer_id = new_employer(server)
    person = users(server, technician(employer_id=employer_id)).sign_in()
    client = client_app()
    groups = ["identity", "birth_date", "contact"]
    details = [{"type": "genba_technician_data", "groups": groups, "purpose": "給与計算のための本人確認"}]

    waiting = code_flow(person, client, scope=STANDARD, details=details)
    info = userinfo(server, waiting["access_token"])
    assert not TECHNICIAN_CLAIMS & set(info), info
    assert {g: info["ccus_withheld"][g] for g in groups} == {g: "awaiting_employer" for g in groups}

    tokens = both_approve(person, client, users(server, staff(employer_id=employer_id)).sign_in(), groups)
    consent_id = tokens["authorization_details"][0]["consent_id"]
    info = userinfo(server, tokens["access_token"])
    assert info["name"] == "山本 太郎" and info["birthdate"] == "1985-04-12" and info["gender"] == "male"
    assert info["phone_number"] == PERSONAL_PHONE and info["address"]["formatted"] == PERSONAL_ADDRESS
    assert not set(groups) & set(info["ccus_withheld"])  # it agrees: nothing released is said to be withheld
    assert "birthdate" not in payload(tokens["id_token"])  # minted before the employer approved
    refreshed = refresh(server, client, tokens["refresh_token"])
    id_token = payload(refreshed["id_token"])
    assert id_token["birthdate"] == "1985-04-12" and id_token["address"]["formatted"] == PERSONAL_ADDRESS
    records = {r["actor"]: r for r in disclosures(person, client["client_id"])}
    assert set(records) == {"userinfo", "id_token"}, records
    for record in records.values():
        assert record["consent_ids"] == [consent_id]
        assert {"name", "birth_date", "gender", "phone", "address"} <= set(record["items"])


def test_the_company_contact_replaces_the_personal_one_where_the_employer_substitutes(
    server: LiveServer,
    users: Callable[..., HttpUser],
    technician: Callable[..., Credentials],
    staff: Callable[..., Credentials],
    client_app: Callable[..., dict[str, Any]],
) -> None:
    """Rule 3 (the employer may publish the company's address and phone instead): with a consent of both
    for contact, ``address`` and ``phone_number`` are the company's once the employer substitutes."""
    employer_id = new_employer(server)
    credentials = technician(employer_id=employer_id)
    person = users(server, credentials).sign_in()
    admin = users(server, staff(employer_id=employer_id)).sign_in()
    client = client_app()
    tokens = both_approve(person, client, admin, ["contact"])
    before = userinfo(server, tokens["access_token"])
    assert before["address"]["formatted"] == PERSONAL_ADDRESS and before["phone_number"] == PERSONAL_PHONE

    with server.database() as engine, engine.begin() as db:  # the employer's default (item 11 adds the ways in)
        db.execute(update(Employer).where(col(Employer.employer_id) == employer_id).values(contact_substitution=True))

    after = userinfo(server, tokens["access_token"])
    assert after["address"]["formatted"] == COMPANY_ADDRESS and after["phone_number"] == COMPANY_PHONE
    assert PERSONAL_ADDRESS not in str(after) and PERSONAL_PHONE not in str(after)
