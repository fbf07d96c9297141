"""Unit tests of the client attestation checks (draft-ietf-oauth-attestation-based-client-auth §5.2,
§6; HAIP 1.0 §4.3): every rule refuses on its own, with real keys and the database replay cache."""

from __future__ import annotations

from datetime import timedelta

import pytest
from joserfc.jwk import ECKey
from sqlmodel import Session

from idp.oauth.attestation import (
    AttestationError,
    AttestationVerifier,
    WalletProviders,
    load_wallet_providers,
    parse_wallet_providers,
)
from idp.oauth.replay import DatabaseReplayCache
from tests.support.attestation import WalletProvider, pop
from tests.support.clock import FrozenClock

AS = "https://id.example"
CLIENT = "wallet-client-1"


@pytest.fixture
def provider() -> WalletProvider:
    return WalletProvider("https://wallet-provider.example")


@pytest.fixture
def verifier(provider: WalletProvider, clock: FrozenClock) -> AttestationVerifier:
    trusted = parse_wallet_providers({"providers": [{"issuer": provider.issuer, "jwks": provider.jwks()}]})
    return AttestationVerifier(
        trusted, issuer=AS, clock=clock, replay=DatabaseReplayCache(), skew=timedelta(seconds=30)
    )


def _now(clock: FrozenClock) -> int:
    return int(clock().timestamp())


def _refused(verifier: AttestationVerifier, db: Session, attestation: str, proof: str, reason: str) -> None:
    with pytest.raises(AttestationError, match=reason):
        verifier.verify(db, attestation=attestation, pop=proof, client_id=CLIENT)


def test_a_fresh_attestation_from_a_trusted_provider_is_accepted(
    verifier: AttestationVerifier, provider: WalletProvider, clock: FrozenClock, db: Session
) -> None:
    instance = ECKey.generate_key("P-256")
    now = _now(clock)
    result = verifier.verify(
        db,
        attestation=provider.attest(CLIENT, instance, now=now),
        pop=pop(instance, client_id=CLIENT, audience=AS, now=now),
        client_id=CLIENT,
    )
    assert result.provider == provider.issuer
    assert result.instance_jwk["x"] == instance.as_dict(private=False)["x"]


def test_an_expired_attestation_is_refused(
    verifier: AttestationVerifier, provider: WalletProvider, clock: FrozenClock, db: Session
) -> None:
    instance = ECKey.generate_key("P-256")
    attestation = provider.attest(CLIENT, instance, now=_now(clock), lifetime=60)
    clock.advance(seconds=60 + 31)  # past exp and the allowed clock skew
    proof = pop(instance, client_id=CLIENT, audience=AS, now=_now(clock))
    _refused(verifier, db, attestation, proof, "expired")


def test_an_attestation_for_another_client_is_refused(
    verifier: AttestationVerifier, provider: WalletProvider, clock: FrozenClock, db: Session
) -> None:
    instance = ECKey.generate_key("P-256")
    now = _now(clock)
    attestation = provider.attest("someone-else", instance, now=now)
    _refused(verifier, db, attestation, pop(instance, client_id=CLIENT, audience=AS, now=now), "another client")


def test_a_pop_for_another_authorization_server_is_refused(
    verifier: AttestationVerifier, provider: WalletProvider, clock: FrozenClock, db: Session
) -> None:
    instance = ECKey.generate_key("P-256")
    now = _now(clock)
    attestation = provider.attest(CLIENT, instance, now=now)
    proof = pop(instance, client_id=CLIENT, audience="https://other-as.example", now=now)
    _refused(verifier, db, attestation, proof, "aud")


def test_an_untrusted_provider_is_refused(verifier: AttestationVerifier, clock: FrozenClock, db: Session) -> None:
    """Same issuer name, another key: the signature does not verify; another name: not trusted."""
    instance = ECKey.generate_key("P-256")
    now = _now(clock)
    proof = pop(instance, client_id=CLIENT, audience=AS, now=now)
    impostor = WalletProvider("https://wallet-provider.example")
    _refused(verifier, db, impostor.attest(CLIENT, instance, now=now), proof, "does not verify")
    stranger = WalletProvider("https://stranger.example")
    _refused(verifier, db, stranger.attest(CLIENT, instance, now=now), proof, "not from a trusted")


def test_nobody_is_trusted_by_default(provider: WalletProvider, clock: FrozenClock, db: Session) -> None:
    verifier = AttestationVerifier(
        load_wallet_providers(None), issuer=AS, clock=clock, replay=DatabaseReplayCache(), skew=timedelta(0)
    )
    instance = ECKey.generate_key("P-256")
    now = _now(clock)
    attestation = provider.attest(CLIENT, instance, now=now)
    _refused(verifier, db, attestation, pop(instance, client_id=CLIENT, audience=AS, now=now), "not from a trusted")


def test_a_pop_not_signed_by_the_attested_key_is_refused(
    verifier: AttestationVerifier, provider: WalletProvider, clock: FrozenClock, db: Session
) -> None:
    """A stolen attestation is useless without the instance key (RFC 7800 §3.1 proof of possession)."""
    instance, thief = ECKey.generate_key("P-256"), ECKey.generate_key("P-256")
    now = _now(clock)
    attestation = provider.attest(CLIENT, instance, now=now)
    _refused(verifier, db, attestation, pop(thief, client_id=CLIENT, audience=AS, now=now), "attested key")


def test_a_replayed_pop_is_refused(
    verifier: AttestationVerifier, provider: WalletProvider, clock: FrozenClock, db: Session
) -> None:
    instance = ECKey.generate_key("P-256")
    now = _now(clock)
    attestation = provider.attest(CLIENT, instance, now=now)
    proof = pop(instance, client_id=CLIENT, audience=AS, now=now)
    verifier.verify(db, attestation=attestation, pop=proof, client_id=CLIENT)
    db.commit()
    clock.advance(seconds=10)
    _refused(verifier, db, attestation, proof, "already used")


def test_a_stale_pop_is_refused(
    verifier: AttestationVerifier, provider: WalletProvider, clock: FrozenClock, db: Session
) -> None:
    """Past the window its jti is no longer remembered, so an old PoP must be refused by its iat."""
    instance = ECKey.generate_key("P-256")
    now = _now(clock)
    attestation = provider.attest(CLIENT, instance, now=now)
    proof = pop(instance, client_id=CLIENT, audience=AS, now=now)
    clock.advance(minutes=5, seconds=1)
    _refused(verifier, db, attestation, proof, "too old")


def test_a_pop_from_the_future_or_without_jti_is_refused(
    verifier: AttestationVerifier, provider: WalletProvider, clock: FrozenClock, db: Session
) -> None:
    instance = ECKey.generate_key("P-256")
    now = _now(clock)
    attestation = provider.attest(CLIENT, instance, now=now)
    _refused(verifier, db, attestation, pop(instance, client_id=CLIENT, audience=AS, now=now + 120), "future")
    _refused(verifier, db, attestation, pop(instance, client_id=CLIENT, audience=AS, now=now, jti=""), "jti")


def test_the_pop_iss_must_be_the_client(
    verifier: AttestationVerifier, provider: WalletProvider, clock: FrozenClock, db: Session
) -> None:
    instance = ECKey.generate_key("P-256")
    now = _now(clock)
    attestation = provider.attest(CLIENT, instance, now=now)
    _refused(verifier, db, attestation, pop(instance, client_id="other", audience=AS, now=now), "iss")


def test_a_mac_or_a_wrong_typ_is_refused(
    verifier: AttestationVerifier, provider: WalletProvider, clock: FrozenClock, db: Session
) -> None:
    from joserfc import jwt
    from joserfc.jwk import OctKey

    instance = ECKey.generate_key("P-256")
    now = _now(clock)
    proof = pop(instance, client_id=CLIENT, audience=AS, now=now)
    secret = OctKey.generate_key(256)
    claims = {"iss": provider.issuer, "sub": CLIENT, "exp": now + 60, "cnf": {"jwk": instance.as_dict(private=False)}}
    hmac = jwt.encode({"typ": "oauth-client-attestation+jwt", "alg": "HS256"}, claims, secret, algorithms=["HS256"])
    _refused(verifier, db, hmac, proof, "algorithm")
    plain = jwt.encode({"typ": "JWT", "alg": "ES256"}, claims, provider.key, algorithms=["ES256"])
    _refused(verifier, db, plain, proof, "typ")


def test_the_trust_file_holds_public_keys_only(provider: WalletProvider) -> None:
    private = {"keys": [provider.key.as_dict(private=True)]}
    with pytest.raises(ValueError, match="private key"):
        parse_wallet_providers({"providers": [{"issuer": provider.issuer, "jwks": private}]})
    with pytest.raises(ValueError, match="providers"):
        parse_wallet_providers([])
    assert not WalletProviders()
