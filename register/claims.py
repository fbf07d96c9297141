"""Technician data in OpenID Connect claims: the one path by which anything about a technician
leaves through userinfo or an ID token (issue 4, item 5; issue 12 hole 2: one disclosure path).

Two kinds of claims, one decision per response:

- the standard claims of the scopes ``profile``, ``phone``, ``address`` and ``email`` (and those
  asked for one by one with the ``claims`` parameter, OIDC Core §5.5), each mapped to its field group
  (``register.standard_claims``). They are released to the client acting for its owner company as the
  relationship rules (``policies/disclosure.cedar``: the current employer's own systems) or a consent
  of both the technician and the employer allow; nobody gets them by scope alone;
- ``ccus``: the fields the consent engine allows under the consents the grant relies on (its
  RFC 9396 ``genba_technician_data`` authorization details, which the ``ccus.*`` scopes are
  shorthand for).

``ccus_withheld`` names each group asked for (through ``ccus`` or a standard claim) that stays back
and why (for example ``no_consent`` or ``awaiting_employer``), so it always agrees with what was
released. A grant that relies on consents is decided under exactly those consents; one that relies
on none, under the relationship and the consents in force between the company and the technician.

Claims go in the ID token only when asked for with the ``claims`` parameter (§5.5:
``{"id_token": {"ccus": null, "birthdate": null}}``); they are then in every ID token of the grant,
refreshes included, each holding no more than the decision when it was minted. Not by default: ID
tokens come back through browsers as ``id_token_hint`` (in URLs, logs and history), so personal data
goes there only when asked for. Every release is a recorded disclosure (APPI art. 29), with the
channel it left by (``userinfo`` or ``id_token``).

The face photo is released at userinfo and the data API only: as a data URI it would make the ID
token tens of kilobytes, and ID tokens travel in headers and ``id_token_hint`` parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from common.japan_time import local_date
from consent.groups import RECORD_GROUPS, FieldGroup
from consent.ports import ConsentPort
from idp.models import Account, OAuthGrant
from idp.oauth.public import AccessTokenClaims, requested_claim_names, wanted_claims
from idp.public import Clock, find_technician
from register import standard_claims
from register.disclosure import disclose
from register.principal import Caller, caller_from_grant, caller_from_token, consent_ids_of

#: Field groups the ID token never carries (the photo: see above).
NOT_IN_ID_TOKEN = frozenset({FieldGroup.face_photo})


def _release(
    consent: ConsentPort,
    clock: Clock,
    db: Session,
    caller: Caller | None,
    *,
    names: frozenset[str],
    with_ccus: bool,
    channel: str,
    leave_out: frozenset[str],
    in_transaction: bool,
) -> dict[str, Any]:
    """Decide once for the groups the standard claim ``names`` need (and every group when ``ccus`` is
    asked for), build what is allowed, record it (in ``db``'s transaction when ``in_transaction``:
    it commits the response that discloses it). ``leave_out``: field groups the channel never carries."""
    if caller is None or caller.user_technician_id is None or caller.account_id is None:
        return {}  # not a technician: the provider's own account claims apply
    wanted = standard_claims.groups_for(names)
    groups = RECORD_GROUPS if with_ccus else tuple(g for g in RECORD_GROUPS if g in wanted)
    if not groups:
        return {}
    now = clock()
    decision = consent.decide(caller.party, caller.user_technician_id, groups, now=now, consent_ids=caller.consent_ids)
    withheld = {g: r.code for g, r in decision.missing.items() if with_ccus or g in wanted}
    out: dict[str, Any] = {"ccus": {}, "ccus_withheld": withheld} if with_ccus else {}
    if withheld:
        out["ccus_withheld"] = withheld
    stored = caller.stored
    technician = stored.technician if stored else find_technician(session=db, technician_id=caller.user_technician_id)
    if technician is None or not decision.allowed:
        return out
    view = disclose(db, technician, decision, today=local_date(now), stored=stored)
    account = db.get(Account, caller.account_id)
    released = standard_claims.build(view, names, technician, account.email if account else None)
    ccus = view.without(leave_out).to_json() if with_ccus else {}
    items = set(ccus) | standard_claims.items_of(released)
    if not items:  # nothing leaves (only the photo was allowed, and it stays out of ID tokens): no record
        return out
    consent.record_disclosure(
        caller.party,
        caller.user_technician_id,
        sorted(items),
        decision,
        now=now,
        channel=channel,
        session=db if in_transaction else None,
    )
    out.update(released)
    if with_ccus:
        out["ccus"] = ccus
    return out


def ccus_userinfo(consent: ConsentPort, clock: Clock) -> Callable[[Session, AccessTokenClaims], dict[str, Any]]:
    """The userinfo hook: a technician's standard claims of the token's scope (§5.4) and those asked
    for in the ``claims`` parameter (§5.5), plus ``ccus`` when the grant relies on consents."""

    def extra(db: Session, claims: AccessTokenClaims) -> dict[str, Any]:
        grant = claims.grant
        if grant is None and claims.grant_id:
            grant = db.get(OAuthGrant, claims.grant_id)
        if grant is None:
            return {}
        names = frozenset(wanted_claims(claims.scope, requested_claim_names(grant.claims, "userinfo")))
        with_ccus = consent_ids_of(grant) is not None
        if not with_ccus and not standard_claims.groups_for(names):
            return {}  # nothing about a person asked for: nothing to look up
        caller = caller_from_token(db, claims, with_record=True)  # technician, record and owner: one statement
        return _release(
            consent,
            clock,
            db,
            caller,
            names=names,
            with_ccus=with_ccus,
            channel="userinfo",
            leave_out=frozenset(),
            in_transaction=False,
        )

    return extra


def ccus_id_token(consent: ConsentPort, clock: Clock) -> Callable[[Session, str, OAuthGrant], dict[str, Any]]:
    """The ID token hook: the standard claims the ``claims`` parameter asks for in the ID token (within
    the granted scope, as for any account), and ``ccus`` (without the face photo) when asked for."""

    def extra(db: Session, client_id: str, grant: OAuthGrant) -> dict[str, Any]:
        asked = requested_claim_names(grant.claims, "id_token")
        names = frozenset(wanted_claims(grant.scope, set()) & asked)
        with_ccus = consent_ids_of(grant) is not None and "ccus" in asked
        if not with_ccus and not standard_claims.groups_for(names):
            return {}
        caller = caller_from_grant(db, client_id, grant, with_record=True)
        # the token endpoint's transaction: the record commits with the tokens it accompanies
        return _release(
            consent,
            clock,
            db,
            caller,
            names=names,
            with_ccus=with_ccus,
            channel="id_token",
            leave_out=NOT_IN_ID_TOKEN,
            in_transaction=True,
        )

    return extra
