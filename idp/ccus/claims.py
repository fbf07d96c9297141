"""CCUS data in OpenID Connect claims (issue 4, item 5: enforcement wherever data leaves).

The ``ccus`` claim carries the fields the consent engine allows for the signed-in technician under
the consents the grant relies on (its RFC 9396 ``genba_technician_data`` authorization details, which
the ``ccus.*`` scopes are shorthand for); ``ccus_withheld`` names each group still withheld and why
(for example ``awaiting_employer``). Both are returned by userinfo (OIDC Core §5.3), like the claims
of the standard scopes when an access token is issued (§5.4). A client that wants them in the ID
token asks with the ``claims`` request parameter (§5.5: ``{"id_token": {"ccus": null}}``); it then
gets them in every ID token of the grant, refreshes included, each holding no more than the consents
in force when it was minted. Not by default: ID tokens come back through browsers as
``id_token_hint`` (in URLs, logs and history), so personal data goes there only when asked for.
Every release is a recorded disclosure (APPI art. 29), with the channel it left by.

The face photo is released at userinfo and the data API only: as a data URI it would make the ID
token tens of kilobytes, and ID tokens travel in headers and ``id_token_hint`` parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from consent.groups import ALL_GROUPS
from consent.ports import ConsentPort, local_date
from idp import accounts
from idp.ccus.disclosure import disclose
from idp.ccus.principal import Caller, caller_from_grant, caller_from_token, consent_ids_of
from idp.models import OAuthGrant
from idp.oauth.claims import requested_claim_names
from idp.oauth.tokens import AccessTokenClaims
from idp.runtime import Clock

NOT_IN_ID_TOKEN = frozenset({"face_photo"})


def _release(
    consent: ConsentPort,
    clock: Clock,
    db: Session,
    caller: Caller | None,
    *,
    channel: str,
    leave_out: frozenset[str],
    in_transaction: bool,
) -> dict[str, Any]:
    """Decide for every group under the caller's consents, build the allowed fields, record them
    (in ``db``'s transaction when ``in_transaction``: it commits the response that discloses them)."""
    if caller is None or caller.consent_ids is None or caller.user_technician_id is None:
        return {}
    now = clock()
    decision = consent.decide(
        caller.party, caller.user_technician_id, ALL_GROUPS, now=now, consent_ids=caller.consent_ids
    )
    withheld = {g: r.code for g, r in decision.missing.items()}
    technician = accounts.find_technician(session=db, technician_id=caller.user_technician_id)
    if technician is None or not decision.allowed:
        return {"ccus": {}, "ccus_withheld": withheld}
    data = {k: v for k, v in disclose(db, technician, decision, today=local_date(now)).items() if k not in leave_out}
    if not data:  # nothing leaves (only the photo was allowed, and it stays out of ID tokens): no record
        return {"ccus": {}, "ccus_withheld": withheld}
    consent.record_disclosure(
        caller.party,
        caller.user_technician_id,
        sorted(data),
        decision,
        now=now,
        channel=channel,
        session=db if in_transaction else None,
    )
    return {"ccus": data, "ccus_withheld": withheld}


def ccus_userinfo(consent: ConsentPort, clock: Clock) -> Callable[[Session, AccessTokenClaims], dict[str, Any]]:
    """The userinfo hook: ``ccus`` and ``ccus_withheld`` for the token's grant."""

    def extra(db: Session, claims: AccessTokenClaims) -> dict[str, Any]:
        if claims.grant is None or consent_ids_of(claims.grant) is None:
            return {}  # no consent to release anything under: nothing to look up
        caller = caller_from_token(db, claims)
        return _release(consent, clock, db, caller, channel="userinfo", leave_out=frozenset(), in_transaction=False)

    return extra


def ccus_id_token(consent: ConsentPort, clock: Clock) -> Callable[[Session, str, OAuthGrant], dict[str, Any]]:
    """The ID token hook: ``ccus`` (without the face photo) and ``ccus_withheld`` for the grant."""

    def extra(db: Session, client_id: str, grant: OAuthGrant) -> dict[str, Any]:
        if consent_ids_of(grant) is None or "ccus" not in requested_claim_names(grant.claims, "id_token"):
            return {}
        caller = caller_from_grant(db, client_id, grant)
        # the token endpoint's transaction: the record commits with the tokens it accompanies
        return _release(consent, clock, db, caller, channel="id_token", leave_out=NOT_IN_ID_TOKEN, in_transaction=True)

    return extra
