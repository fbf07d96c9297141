"""Every standard claim the provider offers has a field group, so the consent engine decides it
for a technician (issue 12 hole 2: one disclosure path; OIDC Core §5.4)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from consent.groups import ALL_GROUPS
from idp.models import Technician
from idp.oauth.claims import SCOPE_CLAIMS, wanted_claims
from register import standard_claims
from register.record_view import Contact, Identity, TechnicianRecordView

ALL_NAMES = wanted_claims(" ".join(SCOPE_CLAIMS), set())


def test_every_offered_claim_is_in_a_field_group() -> None:
    assert set(standard_claims.CLAIM_GROUP) >= ALL_NAMES
    assert set(standard_claims.CLAIM_GROUP.values()) <= set(ALL_GROUPS)
    assert set(standard_claims.CLAIM_ITEM) == set(standard_claims.CLAIM_GROUP)


def _technician() -> Technician:
    return Technician(
        technician_id="10000000000019",
        name="鈴木 一郎",
        name_kana="スズキ イチロウ",
        birth_date=date(1985, 4, 12),
        gender="male",
        address="東京都江東区東陽4-5-6",
        phone="090-1234-5678",
        account_id=1,
        created_at=datetime(2026, 4, 1, tzinfo=UTC),
    )


def test_only_the_fields_of_allowed_groups_become_claims() -> None:
    """``build`` turns the fields a decision allowed into claims and nothing else: identity alone gives
    no birth date and no contact."""
    identity_only = TechnicianRecordView(
        identity=Identity(technician_id="10000000000019", name="鈴木 一郎", name_kana="スズキ イチロウ", gender="male")
    )
    claims = standard_claims.build(identity_only, ALL_NAMES, _technician(), email="x@example.jp")
    assert claims["family_name"] == "鈴木" and claims["given_name#ja-Kana-JP"] == "イチロウ"
    assert not {"birthdate", "address", "phone_number", "email"} & set(claims)
    assert standard_claims.items_of(claims) == {"name", "name_kana", "gender", "locale", "updated_at"}


def test_the_company_contact_carries_no_personal_email() -> None:
    """Rule 3: a substituted contact is the company's address and phone, and the technician's own e-mail
    stays back."""
    substituted = TechnicianRecordView(
        contact=Contact(address="大阪府大阪市中央区本町9-9-9", phone="06-9999-0000", is_company=True)
    )
    claims = standard_claims.build(substituted, ALL_NAMES, _technician(), email="x@example.jp")
    assert claims["address"]["formatted"] == "大阪府大阪市中央区本町9-9-9" and claims["phone_number"] == "06-9999-0000"
    assert "email" not in claims
