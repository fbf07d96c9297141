"""What the consent screen says will leave, computed by the consent engine (issue 12: "the consent
screen shows exactly the fields that will leave, and never says something the engine does not
enforce"; ISO/IEC 29184 §5.3 notice contents: recipient, purpose, data, period).

For a technician, the authorization request's parts are previewed under the same decision the
token will get (``register.claims``):

- the standard claims of the scopes (and of the ``claims`` parameter), by field group;
- each RFC 9396 ``genba_technician_data`` entry (and the ``ccus.*`` scopes it stands for): approving
  creates a consent that the grant then relies on alone;
- each ``openid_credential`` entry: a credential that goes into the requesting wallet app.

A group leaves **now** when the engine allows it already (relationship rules, consents in force);
it **waits for the employer** when it is in an entry and the technician has an employer who must
still approve (with no current employer the technician's approval alone puts the consent in force);
anything else asked for is **withheld**, with the engine's reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from common.japan_time import local_date
from consent.groups import ALL_GROUPS
from consent.ports import ConsentPort, Party
from idp.models import OAuthClient, Technician
from idp.oauth.public import requested_claim_names, wanted_claims
from idp.public import Credential, Preview, Waiting, Withheld
from register import standard_claims
from register.directory import current_employer_of
from register.principal import DETAIL_TYPE, client_party

CREDENTIAL_TYPE = "openid_credential"
#: the engine's reason code for a group nobody but the technician sees (``consent.lifecycle``)
TECHNICIAN_ONLY_CODE = "technician_only"
#: What each credential holds (mirrors ``wallet.credentials.TYPES``; tests/unit check they agree).
CREDENTIALS: dict[str, tuple[tuple[str, str], tuple[tuple[str, str], ...]]] = {
    "ccus_card": (
        ("建設キャリアアップカード", "CCUS technician card"),
        (
            ("技能者ID", "Technician ID"),
            ("氏名", "Name"),
            ("フリガナ", "Name (kana)"),
            ("レベル", "Level"),
            ("カードの色", "Card colour"),
            ("職種", "Occupations"),
            ("所属事業者", "Employer"),
            ("社会保険加入状況", "Social insurance"),
            ("建退共", "Kentaikyo membership"),
            ("顔写真", "Face photo"),
        ),
    ),
    "skill_training_certificate": (
        ("技能講習・特別教育修了証", "Skill-training certificate"),
        (
            ("講習の種類", "Kind"),
            ("講習コード", "Course code"),
            ("講習名", "Course"),
            ("実施機関", "Training body"),
            ("修了年月日", "Completed on"),
            ("修了証番号", "Certificate number"),
            ("氏名", "Holder name"),
            ("生年月日", "Date of birth"),
            ("技能者ID", "Technician ID"),
            ("発行機関ID", "Issuing body ID"),
        ),
    ),
}


def _ordered(groups: set[str]) -> tuple[str, ...]:
    return tuple(g for g in ALL_GROUPS if g in groups)


def _standard_groups(scopes: list[str], claims_param: dict[str, Any] | None) -> set[str]:
    """The field groups of the standard claims asked for, by scope and by the claims parameter."""
    scope = " ".join(scopes)
    names = wanted_claims(scope, requested_claim_names(claims_param, "userinfo")) | (
        wanted_claims(scope, set()) & requested_claim_names(claims_param, "id_token")
    )
    return standard_claims.groups_for(names)


def _credentials(details: list[dict[str, Any]]) -> tuple[Credential, ...]:
    """The credentials asked for (OpenID4VCI authorization details) that the notice names."""
    return tuple(
        Credential(str(d["credential_configuration_id"]), *CREDENTIALS[str(d["credential_configuration_id"])])
        for d in details
        if d.get("type") == CREDENTIAL_TYPE and d.get("credential_configuration_id") in CREDENTIALS
    )


def _acts_for(party: Party, employer_id: str) -> bool:
    return party.acting_for is not None and party.acting_for.id == employer_id


def preview(
    consent: ConsentPort,
    db: Session,
    *,
    client: OAuthClient,
    technician: Technician,
    scopes: list[str],
    claims_param: dict[str, Any] | None,
    details: list[dict[str, Any]],
    now: datetime,
) -> Preview:
    """The notice for this request, decided as the token's release will be."""
    standard = _standard_groups(scopes, claims_param)
    entries = [d for d in details if d.get("type") == DETAIL_TYPE]
    asked = standard | {g for d in entries for g in d.get("groups", ())}
    party = client_party(db, client)
    assert technician.id is not None
    employer = current_employer_of(db, technician.id, local_date(now))
    credentials = _credentials(details)
    if not asked:
        return Preview((), (), (), (), credentials, None)
    # a grant with entries relies on their new consents alone; one without, on what is in force
    decision = consent.decide(
        party, technician.technician_id, _ordered(asked), now=now, consent_ids=() if entries else None
    )
    now_groups = set(decision.allowed)
    purposes: list[tuple[str, str]] = []
    waiting: list[Waiting] = []
    covered: set[str] = set()
    for entry in entries:
        groups = set(entry.get("groups", ()))
        forbidden = {g for g in groups if decision.missing.get(g) and decision.missing[g].code == TECHNICIAN_ONLY_CODE}
        rest = groups - now_groups - forbidden
        if employer is None:
            now_groups |= rest  # the technician's approval alone puts this consent in force
        elif rest:
            waiting.append(Waiting(str(entry.get("purpose", "")), str(entry.get("period_end", "")), _ordered(rest)))
        covered |= rest
        if groups & now_groups:
            purposes.append((str(entry.get("purpose", "")),) * 2)
    if (standard & now_groups) - {g for d in entries for g in d.get("groups", ())}:
        purposes.append((f"{client.client_name} のサービス提供", f"to provide {client.client_name}'s service"))
    withheld = tuple(
        Withheld(g, decision.missing[g].ja, decision.missing[g].en)
        for g in _ordered(asked - now_groups - covered)
        if g in decision.missing
    )
    own = employer.trade_name if employer is not None and _acts_for(party, employer.employer_id) else None
    return Preview(
        _ordered(now_groups & asked),
        tuple(dict.fromkeys(purposes)),
        tuple(waiting),
        withheld,
        credentials,
        own,
    )
