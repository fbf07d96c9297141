"""Who is calling the data API: the OAuth client (acting for the company or the orderer that owns
it, :mod:`register.owners`), from a verified access token; with the consents the token relies on
(RFC 9396 authorization details)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from consent.ports import Party
from idp.models import Account, OAuthClient, OAuthGrant, Technician
from idp.oauth.public import AccessTokenClaims
from idp.public import technician_for_account
from register.disclosure import StoredRecord, stored_record_of_account
from register.owners import owner_column, owner_from, owner_party

DETAIL_TYPE = "genba_technician_data"


@dataclass(frozen=True)
class Caller:
    party: Party
    client: OAuthClient
    user_technician_id: str | None
    consent_ids: tuple[str, ...] | None
    account_id: int | None = None
    #: the grant's technician and his record, when read with the caller (``with_record``)
    stored: StoredRecord | None = None


def caller_from_token(session: Session, claims: AccessTokenClaims, *, with_record: bool = False) -> Caller | None:
    """The caller behind a verified access token (a client_credentials token has no grant)."""
    grant = None
    if claims.grant_id:
        grant = claims.grant or session.get(OAuthGrant, claims.grant_id)
        if grant is None:
            return None
    return caller_from_grant(session, claims.client_id, grant, with_record=with_record)


def client_party(session: Session, client: OAuthClient) -> Party:
    """The recipient of anything a client receives: the client acting for the company or orderer that
    owns it (a client nobody owns acts for nobody, and has no relationship with any technician)."""
    return Party("client", client.client_id, acting_for=owner_party(session, client))


def caller_from_grant(
    session: Session, client_id: str, grant: OAuthGrant | None, *, with_record: bool = False
) -> Caller | None:
    """The client acting for its owner (company or orderer), the grant's technician and the consents
    it relies on. ``with_record``: the technician's record too (``Caller.stored``), read with the
    owner in one statement (issue 14: userinfo and ID tokens, which release from it)."""
    client = session.get(OAuthClient, client_id)
    if client is None or client.disabled:
        return None
    if grant is not None and with_record:
        owner = owner_column(client)
        stored, values = stored_record_of_account(session, grant.account_id, *([] if owner is None else [owner]))
        return Caller(
            party=Party("client", client.client_id, acting_for=owner_from(client, values[0] if values else None)),
            client=client,
            user_technician_id=stored.technician.technician_id if stored else None,
            consent_ids=consent_ids_of(grant),
            account_id=grant.account_id,
            stored=stored,
        )
    party = client_party(session, client)
    technician_id = None
    account_id = None
    consent_ids: tuple[str, ...] | None = None
    if grant is not None:
        account_id = grant.account_id
        account = session.get(Account, grant.account_id)
        technician = technician_for_account(session=session, account_id=account.id) if account and account.id else None
        technician_id = technician.technician_id if isinstance(technician, Technician) else None
        consent_ids = consent_ids_of(grant)
    return Caller(
        party=party, client=client, user_technician_id=technician_id, consent_ids=consent_ids, account_id=account_id
    )


def consent_ids_of(grant: OAuthGrant) -> tuple[str, ...] | None:
    """The consents a grant relies on: its ``genba_technician_data`` authorization details (RFC 9396)."""
    ids = tuple(
        str(d["consent_id"])
        for d in grant.authorization_details
        if d.get("type") == DETAIL_TYPE and d.get("consent_id")
    )
    return ids or None
