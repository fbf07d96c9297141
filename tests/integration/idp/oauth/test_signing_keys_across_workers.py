"""Signing keys shared by several workers on one database (issue 8, item 2), on SQLite and PostgreSQL.

A worker is a process with its own ``KeyStore`` cache; here each is a ``KeyStore`` of its own on the
same engine, all on the same frozen clock. Nothing sleeps: the races are either laid out step by
step or run with a barrier, and the assertions hold whatever order the threads run in.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from joserfc import jws, jwt
from joserfc.jwk import ECKey
from sqlalchemy import Engine, event
from sqlmodel import Session, select

from idp.models import SigningKey
from idp.oauth import keys as signing_keys
from idp.oauth.config import OAuthConfig
from idp.oauth.keys import UNKNOWN_KID_COOLDOWN_SECONDS, KeyStore
from idp.oauth.tokens import Resource, TokenKind, TokenService
from idp.runtime import SystemRandomness
from idp.secretbox import SecretBox
from tests.conftest import TEST_SECRET
from tests.support.clock import FrozenClock

ISSUER = "http://localhost"


def _box() -> SecretBox:
    return SecretBox(TEST_SECRET.encode(), "signing-keys", SystemRandomness())


def _worker(engine: Engine, clock: FrozenClock) -> TokenService:
    return TokenService(OAuthConfig(issuer=ISSUER), KeyStore(engine, _box(), clock), clock, SystemRandomness())


def _kid(token: str) -> str:
    return str(jws.extract_compact(token.encode()).protected["kid"])


def _keys_in_database(db: Session) -> list[SigningKey]:
    db.expire_all()
    return list(db.exec(select(SigningKey)).all())


@contextmanager
def key_reads(engine: Engine) -> Iterator[list[str]]:
    """Every statement that reads the signing key table while the block runs."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM signingkey" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_worker_that_decided_on_a_stale_read_creates_no_second_key(
    engine: Engine, db: Session, clock: FrozenClock
) -> None:
    """RFC 7517 §5 / OIDC Core §10.1.1: the workers publish one JWK Set and sign with its key. The
    race laid out: both workers read "no key"; the first creates one; the second, acting on its
    stale read, re-reads under the key creation lock and creates nothing (insert-or-reread)."""
    first, second = KeyStore(engine, _box(), clock), KeyStore(engine, _box(), clock)
    assert first.published() == [] and second.published() == []  # both have read: no key yet
    first.create_if_missing(alg="ES256")
    second.create_if_missing(alg="ES256")
    rows = _keys_in_database(db)
    assert len(rows) == 1
    assert first.signing_key().kid == second.signing_key().kid == rows[0].kid
    assert second.jwks() == first.jwks() == {"keys": [rows[0].public_jwk]}


def test_concurrent_first_requests_on_a_fresh_database_create_one_key(
    engine: Engine, db: Session, clock: FrozenClock
) -> None:
    """RFC 7517 §5: concurrent first requests of six workers (each its own cache, released together
    by a barrier) end with one signing key in the database, the one every worker signs with."""
    workers = [_worker(engine, clock) for _ in range(6)]
    barrier = threading.Barrier(len(workers))

    def first_request(worker: TokenService) -> str:
        barrier.wait()
        token, _ = worker.mint_access_token(
            client_id="c",
            subject="c",
            scope="",
            grant=None,
            jkt=None,
            kind=TokenKind.client,
            audience={Resource.data_api},
        )
        return _kid(token)

    with ThreadPoolExecutor(len(workers)) as pool:
        kids = set(pool.map(first_request, workers))
    rows = _keys_in_database(db)
    assert len(rows) == 1 and kids == {rows[0].kid}


def test_a_token_signed_with_a_key_another_worker_just_added_verifies_at_once(
    engine: Engine, db: Session, clock: FrozenClock
) -> None:
    """OIDC Core §10.1.1: "the verifier knows to go back to the jwks_uri location to re-retrieve the
    keys when it sees an unfamiliar kid value". Worker A still has the key set it cached; worker B
    signs with a key added since (a rotation without delay); A re-reads the keys once and accepts."""
    a, b = _worker(engine, clock), _worker(engine, clock)
    old_kid = a.keys.signing_key().kid  # A has read the keys and caches them for CACHE_SECONDS
    clock.advance(seconds=1)
    new = signing_keys.rotate(
        session=db, box=_box(), alg="ES256", now=clock(), delay=timedelta(0), retain=timedelta(hours=1)
    )
    db.commit()
    token, _ = b.mint_access_token(
        client_id="c", subject="c", scope="", grant=None, jkt=None, kind=TokenKind.client, audience={Resource.data_api}
    )
    assert _kid(token) == new.kid != old_kid
    with key_reads(engine) as reads:
        claims = a.decode_access_token(db, token)
    assert claims is not None and claims.client_id == "c"
    assert len(reads) == 1  # one re-read, then the token verified
    assert a.keys.signing_key().kid == new.kid  # and A signs with the new key too from now on


def test_made_up_kids_reread_the_keys_at_most_once_per_cooldown(
    engine: Engine, db: Session, clock: FrozenClock
) -> None:
    """OIDC Core §10.1.1 re-reading, bounded: a token whose kid is unknown even after re-reading is
    refused, and made-up kids make a worker re-read the keys at most once per
    ``UNKNOWN_KID_COOLDOWN_SECONDS``, so they cannot turn every request into a database read."""
    worker = _worker(engine, clock)
    worker.keys.signing_key()
    stranger = ECKey.generate_key("P-256")

    def forged(kid: str) -> str:
        claims = {"iss": ISSUER, "sub": "c", "client_id": "c", "jti": kid, "exp": int(clock().timestamp()) + 60}
        return jwt.encode({"typ": "at+jwt", "alg": "ES256", "kid": kid}, claims, stranger, algorithms=["ES256"])

    with key_reads(engine) as reads:
        assert worker.decode_access_token(db, forged("unknown-1")) is None
        assert len(reads) == 1
        assert worker.decode_access_token(db, forged("unknown-2")) is None
        assert len(reads) == 1  # within the cooldown: no second read
        clock.advance(seconds=UNKNOWN_KID_COOLDOWN_SECONDS)
        assert worker.decode_access_token(db, forged("unknown-3")) is None
        assert len(reads) == 2
