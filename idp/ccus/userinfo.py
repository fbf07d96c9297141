"""CCUS data in userinfo: the ``ccus`` claim carries the fields the consent engine allows for the
token's technician under the consents the token relies on (RFC 9396 authorization details)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from consent.groups import ALL_GROUPS
from consent.ports import ConsentPort, local_date
from idp import accounts
from idp.ccus.disclosure import disclose
from idp.ccus.principal import caller_from_token
from idp.oauth.tokens import AccessTokenClaims
from idp.runtime import Clock


def ccus_userinfo(consent: ConsentPort, clock: Clock) -> Callable[[Session, AccessTokenClaims], dict[str, Any]]:
    def extra(db: Session, claims: AccessTokenClaims) -> dict[str, Any]:
        caller = caller_from_token(db, claims)
        if caller is None or caller.consent_ids is None or caller.user_technician_id is None:
            return {}
        now = clock()
        decision = consent.decide(
            caller.party, caller.user_technician_id, ALL_GROUPS, now=now, consent_ids=caller.consent_ids
        )
        technician = accounts.find_technician(session=db, technician_id=caller.user_technician_id)
        if technician is None or not decision.allowed:
            return {"ccus": {}, "ccus_withheld": {g: r.code for g, r in decision.missing.items()}}
        data = disclose(db, technician, decision, today=local_date(now))
        consent.record_disclosure(
            caller.party, caller.user_technician_id, sorted(data), decision, now=now, channel="userinfo"
        )
        return {"ccus": data, "ccus_withheld": {g: r.code for g, r in decision.missing.items()}}

    return extra
