"""Standard OpenID Connect claims about a technician, as the consent engine releases them
(OIDC Core 1.0 §5.1, §5.4; docs/domain.md rules 1, 3 and 6; issue 12 hole 2).

Each standard claim belongs to a field group of the technician record (``consent.groups``); a claim
leaves only when the engine allows its group to the client acting for its owner company:

============================================================  ==============
claims                                                         field group
============================================================  ==============
``name``, ``family_name``, ``given_name``, ``name#ja-Kana-JP``,  ``identity``
``family_name#ja-Kana-JP``, ``given_name#ja-Kana-JP``, ``gender``,
``locale``, ``updated_at``
``birthdate``                                                  ``birth_date``
``phone_number``, ``phone_number_verified``, ``address``,       ``contact``
``email``, ``email_verified``
============================================================  ==============

``locale`` and ``updated_at`` say nothing the register holds, but they describe the person's
profile, so they go with the identity group rather than to anyone who asks. ``updated_at`` is the
time the technician was registered: the register keeps no edit time for name and gender, and the
account's password change time (what staff accounts report) is security data, not profile data.

Rule 3: where the employer publishes the company's contact instead, the decision says so and
``address``/``phone_number`` are the company's (``register.disclosure.disclose``); the
technician's own e-mail then stays back too.
"""

from __future__ import annotations

from typing import Any

from consent.groups import FieldGroup
from idp.models import Technician
from idp.oauth.public import split_name
from register.record_view import TechnicianRecordView

#: Standard claim → the field group that decides it.
CLAIM_GROUP: dict[str, str] = {
    "name": FieldGroup.identity,
    "family_name": FieldGroup.identity,
    "given_name": FieldGroup.identity,
    "name#ja-Kana-JP": FieldGroup.identity,
    "family_name#ja-Kana-JP": FieldGroup.identity,
    "given_name#ja-Kana-JP": FieldGroup.identity,
    "gender": FieldGroup.identity,
    "locale": FieldGroup.identity,
    "updated_at": FieldGroup.identity,
    "birthdate": FieldGroup.birth_date,
    "phone_number": FieldGroup.contact,
    "phone_number_verified": FieldGroup.contact,
    "address": FieldGroup.contact,
    "email": FieldGroup.contact,
    "email_verified": FieldGroup.contact,
}

#: Standard claim → the item named in the disclosure record (the record field it comes from).
CLAIM_ITEM: dict[str, str] = {
    "name": "name",
    "family_name": "name",
    "given_name": "name",
    "name#ja-Kana-JP": "name_kana",
    "family_name#ja-Kana-JP": "name_kana",
    "given_name#ja-Kana-JP": "name_kana",
    "gender": "gender",
    "locale": "locale",
    "updated_at": "updated_at",
    "birthdate": "birth_date",
    "phone_number": "phone",
    "phone_number_verified": "phone",
    "address": "address",
    "email": "email",
    "email_verified": "email",
}


def groups_for(names: set[str] | frozenset[str]) -> set[str]:
    """The field groups the standard claims ``names`` need."""
    return {CLAIM_GROUP[n] for n in names if n in CLAIM_GROUP}


def build(
    view: TechnicianRecordView, names: set[str] | frozenset[str], technician: Technician, email: str | None
) -> dict[str, Any]:
    """The standard claims among ``names`` that ``view`` (the groups a decision allowed, already
    substituted by rule 3) supports; nothing of a group the decision withheld."""
    claims: dict[str, Any] = {}
    if view.identity is not None:
        family, given = split_name(view.identity.name)
        claims.update(
            {
                "name": view.identity.name,
                "family_name": family,
                "given_name": given,
                "locale": "ja-JP",
                "updated_at": int(technician.created_at.timestamp()),
            }
        )
        family_kana, given_kana = split_name(view.identity.name_kana)
        claims.update(
            {
                "name#ja-Kana-JP": view.identity.name_kana,
                "family_name#ja-Kana-JP": family_kana,
                "given_name#ja-Kana-JP": given_kana,
            }
        )
        claims["gender"] = view.identity.gender if view.identity.gender in ("male", "female") else "other"
    if view.birth_date is not None:
        claims["birthdate"] = view.birth_date.born.isoformat()
    if view.contact is not None:
        claims["phone_number"] = view.contact.phone
        claims["phone_number_verified"] = False
        claims["address"] = {"formatted": view.contact.address, "country": "JP"}
        if email and not view.contact.is_company:
            claims["email"] = email
            claims["email_verified"] = False
    return {k: v for k, v in claims.items() if k in names}


def items_of(claims: dict[str, Any]) -> set[str]:
    """What the disclosure record names for these claims."""
    return {CLAIM_ITEM[k] for k in claims if k in CLAIM_ITEM}
