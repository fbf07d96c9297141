"""What an operator does to a relying party or a token from the command line (``genba admin``):
disable a client, rotate its secret, revoke a grant or an access token.

Each is refused at once by every worker (issue 14, "refused at once"): the change is committed by
the caller's transaction and the application's fence waits for every worker's caches
(docs/operations.md "Worker caches").
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from joserfc import jws
from joserfc.errors import JoseError
from sqlmodel import Session

from common.messages import message
from idp.models import OAuthClient, OAuthGrant, RevokedToken
from idp.oauth.clients import sha256_hex
from idp.oauth.tokens import revoke_grant
from idp.runtime import Randomness, token_urlsafe
from idp.validation import FieldProblem


def _client(session: Session, client_id: str) -> OAuthClient:
    row = session.get(OAuthClient, client_id)
    if row is None:
        raise FieldProblem("client_id", message("field.unknown_client"))
    return row


def disable_client(*, session: Session, client_id: str) -> OAuthClient:
    """The client can no longer authenticate, and its tokens stop working (``find_client``)."""
    row = _client(session, client_id)
    row.disabled = True
    session.add(row)
    return row


def rotate_client_secret(*, session: Session, client_id: str, rng: Randomness) -> str:
    """A new secret for a confidential client (RFC 6749 §2.3.1); the old one stops working. The new
    secret is returned once and stored as SHA-256 only."""
    row = _client(session, client_id)
    if row.client_secret_hash is None:
        raise FieldProblem("client_id", message("field.client_without_secret"))
    secret = token_urlsafe(rng, 32)
    row.client_secret_hash = sha256_hex(secret)
    session.add(row)
    return secret


def revoke_grant_by_id(*, session: Session, grant_id: str, now: datetime) -> OAuthGrant:
    """Revoke a grant: its refresh tokens and every access token carrying its ``gid`` stop working."""
    grant = session.get(OAuthGrant, grant_id)
    if grant is None:
        raise FieldProblem("grant_id", message("field.unknown_grant"))
    revoke_grant(session, grant_id, now=now)
    return grant


def revoke_access_token(*, session: Session, token: str) -> str:
    """Record an access token's ``jti`` as revoked until its ``exp`` (RFC 7009 §2); its signature is
    not checked (revoking a forged token changes nothing). The ``jti``."""
    try:
        claims = json.loads(jws.extract_compact(token.strip().encode()).payload)
        jti, exp = str(claims["jti"]), int(claims["exp"])
    except (JoseError, ValueError, KeyError, TypeError):
        raise FieldProblem("token", message("field.not_access_token")) from None
    if session.get(RevokedToken, jti) is None:
        session.add(RevokedToken(jti=jti, expires_at=datetime.fromtimestamp(exp, tz=UTC)))
    return jti
