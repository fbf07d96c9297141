"""Access tokens on the compact JWS core and the cache of verified tokens (issue 14), on SQLite and
PostgreSQL: a token verified once skips only its signature check; expiry, the publication of its key
and revocation are checked on every use (RFC 9068 §4, RFC 7009 §2, RFC 7517 §5)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import Engine
from sqlmodel import Session

from common import jws
from idp.oauth import keys as signing_keys
from idp.oauth.config import OAuthConfig
from idp.oauth.keys import CACHE_SECONDS, KeyStore
from idp.oauth.tokens import Resource, TokenKind, TokenService
from idp.runtime import SystemRandomness
from idp.secretbox import SecretBox
from tests.conftest import TEST_SECRET
from tests.support.clock import FrozenClock

ISSUER = "http://localhost"
pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")


def _box() -> SecretBox:
    return SecretBox(TEST_SECRET.encode(), "signing-keys", SystemRandomness())


def _service(engine: Engine, clock: FrozenClock, alg: str = "ES256") -> TokenService:
    config = OAuthConfig(issuer=ISSUER, signing_alg=alg)
    return TokenService(config, KeyStore(engine, _box(), clock), clock, SystemRandomness())


def _mint(service: TokenService) -> str:
    token, _ = service.mint_access_token(
        client_id="c", subject="c", scope="", grant=None, jkt=None, kind=TokenKind.client, audience={Resource.data_api}
    )
    return token


def _forge(token: str, header: dict[str, Any], signature: str | None = None) -> str:
    _, payload, original = token.split(".")
    return ".".join((jws.b64url(json.dumps(header).encode()), payload, original if signature is None else signature))


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "PS256"])
def test_access_tokens_verify_with_the_published_jwks_and_back(
    engine: Engine, db: Session, clock: FrozenClock, alg: str
) -> None:
    """RFC 9068 §2.1/§4: an access token is a JWS (``typ`` at+jwt) that verifies with the published
    JWK Set by any JOSE library (joserfc here), with the core for ES256/EdDSA, joserfc for PS256."""
    service = _service(engine, clock, alg)
    token = _mint(service)
    decoded = jwt.decode(token, KeySet.import_key_set(service.keys.jwks()), algorithms=[alg])  # type: ignore[arg-type]
    assert decoded.header["typ"] == "at+jwt" and decoded.header["alg"] == alg
    claims = service.decode_access_token(db, token)
    assert claims is not None and claims.claims == decoded.claims


def test_a_token_signed_by_joserfc_with_our_key_verifies(engine: Engine, db: Session, clock: FrozenClock) -> None:
    """Tokens minted before the core (joserfc, high-S or low-S) keep working until they expire."""
    service = _service(engine, clock)
    active = service.keys.signing_key()
    reference = service.decode_access_token(db, _mint(service))
    assert reference is not None
    for n in range(8):
        claims = {**reference.claims, "jti": f"joserfc-{n}"}
        token = jwt.encode({"typ": "at+jwt", "alg": "ES256", "kid": active.kid}, claims, active.key)
        assert service.decode_access_token(db, token) is not None


def test_forged_headers_are_refused(engine: Engine, db: Session, clock: FrozenClock) -> None:
    """RFC 8725 §3.1 and RFC 9068 §4: alg none, HS256, another alg than the key's, a kid nobody
    published, a missing kid, another ``typ``, and a signature by a stranger's key are all refused."""
    service = _service(engine, clock)
    token = _mint(service)
    kid = service.keys.signing_key().kid
    stranger = ECKey.generate_key("P-256")
    claims = json.loads(jws.b64url_decode(token.split(".")[1]))
    forged = [
        _forge(token, {"typ": "at+jwt", "alg": "none", "kid": kid}, ""),
        _forge(token, {"typ": "at+jwt", "alg": "HS256", "kid": kid}),
        _forge(token, {"typ": "at+jwt", "alg": "EdDSA", "kid": kid}),
        _forge(token, {"typ": "at+jwt", "alg": "ES256", "kid": "not-published"}),
        _forge(token, {"typ": "at+jwt", "alg": "ES256"}),
        jwt.encode({"typ": "JWT", "alg": "ES256", "kid": kid}, claims, service.keys.signing_key().key),
        jwt.encode({"typ": "at+jwt", "alg": "ES256", "kid": kid}, claims, stranger),
    ]
    for value in forged:
        assert service.decode_access_token(db, value) is None, value
    assert service.decode_access_token(db, token) is not None


def test_a_cached_token_is_refused_once_expired(engine: Engine, db: Session, clock: FrozenClock) -> None:
    """RFC 9068 §4 / RFC 7519 §4.1.4: ``exp`` is checked against the clock on every use, cached or not."""
    service = _service(engine, clock)
    token = _mint(service)
    assert service.decode_access_token(db, token) is not None
    assert service.verified.get(token) is not None  # the second use is a cache hit
    clock.advance(seconds=service.config.access_token_lifetime.total_seconds() - 1)
    assert service.decode_access_token(db, token) is not None
    clock.advance(seconds=1)
    assert service.decode_access_token(db, token) is None


def test_a_cached_token_is_refused_once_its_key_is_unpublished(engine: Engine, db: Session, clock: FrozenClock) -> None:
    """RFC 7517 §5: a key taken out of the JWK Set no longer vouches for anything it signed, even a
    token whose signature this worker verified before."""
    service = _service(engine, clock)
    token = _mint(service)
    assert service.decode_access_token(db, token) is not None
    signing_keys.rotate(session=db, box=_box(), alg="ES256", now=clock(), delay=timedelta(0), retain=timedelta(0))
    db.commit()
    clock.advance(seconds=CACHE_SECONDS + 1)  # the worker re-reads its keys; the old one has expired
    assert service.verified.get(token) is not None
    assert service.decode_access_token(db, token) is None


def test_a_cached_token_is_refused_once_revoked(engine: Engine, db: Session, clock: FrozenClock) -> None:
    """RFC 7009 §2: a revoked access token stops working at once, also where its signature was cached."""
    service = _service(engine, clock)
    token = _mint(service)
    claims = service.decode_access_token(db, token)
    assert claims is not None
    service.revoke_access_token(db, claims)
    db.commit()
    assert service.verified.get(token) is not None
    assert service.decode_access_token(db, token) is None


def test_the_cache_is_bounded(engine: Engine, db: Session, clock: FrozenClock) -> None:
    """Issue 14: the cache holds at most its size; the least recently used token leaves first and is
    then verified again in full."""
    service = _service(engine, clock)
    service.verified = type(service.verified)(2)
    first, second, third = _mint(service), _mint(service), _mint(service)
    for token in (first, second, third):
        assert service.decode_access_token(db, token) is not None
    assert len(service.verified) == 2 and service.verified.get(first) is None
    assert service.decode_access_token(db, first) is not None
