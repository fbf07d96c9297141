"""What the token, introspection and userinfo endpoints read on every request, cached in the worker
(issue 14, "Caches that are never wrong for long"; docs/operations.md "Worker caches").

Clients by id, grants by id, whether an access token's ``jti`` is revoked, and accounts as userinfo
needs them: a hit touches no database (the request's ``Session`` never connects). Each cache is
emptied by the database's own notice of a change (``common.invalidation``: the table's name is the
topic, the row's primary key the key), so a revocation reaches every worker at COMMIT; while the
bus is not trusted every look-up reads the database exactly as it would without a cache.

Cached rows are detached copies shared by every thread: callers read them and never change them
(a change goes through the caller's own session, which re-reads the row).
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from sqlalchemy import exists
from sqlmodel import Session, SQLModel, col, select

from common.invalidation import MISSING, InvalidationBus, KeyedCache
from idp.models import Account, OAuthClient, OAuthGrant, RevokedToken

Row = TypeVar("Row", bound=SQLModel)

#: the tables cached here, by name: the topics the database notifies (app/migrations 0017)
TABLES = ("oauthclient", "oauthgrant", "revokedtoken", "account")


def detached(row: Row, **blank: Any) -> Row:
    """A copy of ``row`` belonging to no session (``blank`` replaces fields nobody here needs)."""
    values = copy.deepcopy(row.model_dump())
    values.update(blank)
    return type(row)(**values)


class HotCaches:
    """The provider's per-worker caches on one invalidation bus."""

    def __init__(self, bus: InvalidationBus | None = None, *, size: int = 10_000) -> None:
        self.bus = bus or InvalidationBus()  # never trusted: every look-up reads the database
        self.clients: KeyedCache[str, OAuthClient] = KeyedCache(self.bus, "oauthclient", size=size)
        self.grants: KeyedCache[str, OAuthGrant] = KeyedCache(self.bus, "oauthgrant", size=size)
        self.revoked: KeyedCache[str, bool] = KeyedCache(self.bus, "revokedtoken", size=size)
        self.accounts: KeyedCache[int, Account] = KeyedCache(self.bus, "account", size=size)

    def ready(self) -> bool:
        """Whether a hit may be believed now (the route layer may answer on the event loop)."""
        return self.bus.trusted()

    def client(self, session: Session, client_id: str) -> OAuthClient | None:
        """The client row (disabled ones too: the caller decides), or ``None`` if there is none."""
        hit = self.clients.get(client_id)
        if isinstance(hit, OAuthClient):
            return hit
        generation = self.clients.generation()
        row = session.get(OAuthClient, client_id)
        if row is None:
            return None
        kept = detached(row)
        self.clients.fill(client_id, kept, generation)
        return kept

    def client_and_account(
        self, session: Session, client_id: str, account_id: int
    ) -> tuple[OAuthClient, Account] | None:
        """Both rows, from the caches or in one round trip (two look-ups by key, one row)."""
        client, account = self.clients.get(client_id), self.accounts.get(account_id)
        if isinstance(client, OAuthClient) and isinstance(account, Account):
            return client, account
        generations = self.clients.generation(), self.accounts.generation()
        both = (
            select(OAuthClient, Account)
            .join_from(OAuthClient, Account, col(Account.id) == account_id)
            .where(col(OAuthClient.client_id) == client_id)
        )
        found = session.exec(both).first()
        if found is None:
            return None
        kept = detached(found[0]), detached(found[1], password_hash="", totp_secret_enc=None)
        self.clients.fill(client_id, kept[0], generations[0])
        self.accounts.fill(account_id, kept[1], generations[1])
        return kept

    def usable_grant(self, session: Session, *, grant_id: str, jti: str) -> OAuthGrant | None:
        """The grant of an access token, if neither the grant nor the token (``jti``) is revoked
        (RFC 7009 §2: revocation takes effect at once); one round trip on a miss."""
        grant, revoked = self.grants.get(grant_id), self.revoked.get(jti)
        if not (isinstance(grant, OAuthGrant) and isinstance(revoked, bool)):
            generations = self.grants.generation(), self.revoked.generation()
            found = session.exec(select(OAuthGrant, _revoked(jti)).where(col(OAuthGrant.grant_id) == grant_id)).first()
            if found is None:
                return None
            grant, revoked = detached(found[0]), bool(found[1])
            self.grants.fill(grant_id, grant, generations[0])
            self.revoked.fill(jti, revoked, generations[1])
        return None if revoked or grant.revoked_at is not None else grant

    def jti_revoked(self, session: Session, jti: str) -> bool:
        """Whether the access token ``jti`` (one without a grant) has been revoked."""
        hit = self.revoked.get(jti)
        if hit is not MISSING:
            return bool(hit)
        generation = self.revoked.generation()
        revoked = session.get(RevokedToken, jti) is not None
        self.revoked.fill(jti, revoked, generation)
        return revoked


def _revoked(jti: str) -> Any:
    """``EXISTS`` a revocation record for ``jti`` (RFC 7009 §2: a revoked token stays revoked)."""
    return exists().where(col(RevokedToken.jti) == jti)
