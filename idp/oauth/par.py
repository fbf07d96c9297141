"""Pushed authorization requests (RFC 9126): store the parameters, hand back a ``request_uri``."""

from __future__ import annotations

from sqlmodel import Session

from idp.models import PushedRequest
from idp.oauth.clients import RegisteredClient
from idp.oauth.config import OAuthConfig
from idp.oauth.tokens import token_hash
from idp.runtime import Clock, Randomness, token_urlsafe

URN_PREFIX = "urn:ietf:params:oauth:request_uri:"


def push(
    *, session: Session, config: OAuthConfig, client_id: str, params: dict[str, str], clock: Clock, rng: Randomness
) -> tuple[str, int]:
    """RFC 9126 §2.2: ``request_uri`` with a short ``expires_in``."""
    reference = URN_PREFIX + token_urlsafe(rng, 32)
    now = clock()
    session.add(
        PushedRequest(
            request_uri_hash=token_hash(reference),
            client_id=client_id,
            params=params,
            expires_at=now + config.par_lifetime,
        )
    )
    return reference, int(config.par_lifetime.total_seconds())


def take(*, session: Session, request_uri: str, client_id: str, clock: Clock) -> dict[str, str] | None:
    """Use a pushed request once (RFC 9126 §4: one-time use), for the client that pushed it."""
    if not request_uri.startswith(URN_PREFIX) or len(request_uri) > 200:
        return None
    row = session.get(PushedRequest, token_hash(request_uri))
    now = clock()
    if row is None or row.client_id != client_id or row.used_at is not None or row.expires_at <= now:
        return None
    row.used_at = now
    session.add(row)
    return dict(row.params)


#: set by /par, never by a client: the wallet provider whose client attestation the push carried
ATTESTED_BY = "__attested_by"


def without_internal(params: dict[str, str]) -> dict[str, str]:
    """A client's parameters with every ``__`` name removed: those carry what the provider itself
    established (``__par``, ``__attested_by``) and must never come from the request."""
    return {k: v for k, v in params.items() if not k.startswith("__")}


def as_pushed_by(client: RegisteredClient, params: dict[str, str]) -> RegisteredClient:
    """The client as it authenticated when pushing: attested by a trusted wallet provider, or not
    (draft-ietf-oauth-attestation-based-client-auth §13.2 at the PAR endpoint; issue 12)."""
    provider = params.get(ATTESTED_BY)
    return RegisteredClient(client.row, attested_by=provider) if provider else client
