"""What the gate's verifier caches (issue 14) and what it still checks on every use: a leaf certificate
verified under the pinned root once is still checked for its validity period and for the issuer it
names, and only under that root; a status list verified once is reused only with the same signer;
holder keys are taken once, validated on the curve, with their RFC 7638 thumbprint."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey

from tests.integration.wallet.conftest import Seeded
from tests.integration.wallet.test_verifier import (
    Held,
    _other_root,
    _status_setup,
    check,
    code_of,
    present,
)
from tests.support.clock import FrozenClock
from tests.support.wallet import Wallet, new_offer
from wallet import sdjwt, verifier
from wallet.keys import verified_leaf
from wallet.runtime import WalletRuntime


@pytest.fixture
def held(client: TestClient, seeded: Seeded, wallet: Wallet) -> Held:
    """A CCUS card the issuer really issued, as in tests/integration/wallet/test_verifier.py."""
    token = wallet.access_token(new_offer(client.app, seeded.technician_id, ["ccus_card"]))  # type: ignore[arg-type]
    keys, body = wallet.issue(token["access_token"], "ccus_card")
    return Held(body["credentials"][0]["credential"], keys[0], client.get("/wallet/root.pem").text)


def _x5c(held: Held) -> list[str]:
    header = json.loads(sdjwt.b64url_decode(sdjwt.parse(held.credential).issuer_jwt.split(".")[0]))
    return list(header["x5c"])


def test_a_cached_leaf_is_still_refused_outside_its_validity_period(held: Held, clock: FrozenClock) -> None:
    """RFC 5280 §6.1.3 (a)(2): the certificate must be valid at the time of the check; having verified
    the chain before does not make an expired issuer certificate acceptable."""
    presentation = present(held, iat=int(clock().timestamp()))
    check(held, presentation, clock())
    leaf = verified_leaf(_x5c(held), held.root, now=clock())
    late = leaf.not_after + timedelta(seconds=1)
    with pytest.raises(ValueError, match="not valid now"):
        verified_leaf(_x5c(held), held.root, now=late)
    early = leaf.not_before - timedelta(seconds=1)
    assert code_of(lambda: check(held, presentation, early, skew=timedelta(0))) == "untrusted_issuer"


def test_a_cached_leaf_certifies_only_the_issuer_it_names(held: Held, clock: FrozenClock) -> None:
    """SD-JWT VC §3.5: the leaf must name ``iss`` (URI SAN), checked for every credential, cached or not."""
    check(held, present(held, iat=int(clock().timestamp())), clock())
    iss = json.loads(sdjwt.b64url_decode(sdjwt.parse(held.credential).issuer_jwt.split(".")[1]))["iss"]
    assert verified_leaf(_x5c(held), held.root, now=clock(), issuer=iss).uris
    with pytest.raises(ValueError, match="does not name"):
        verified_leaf(_x5c(held), held.root, now=clock(), issuer="https://another-issuer.example")


def test_a_leaf_verified_under_one_root_is_not_trusted_under_another(held: Held, clock: FrozenClock) -> None:
    """SD-JWT VC §3.5 / RFC 5280 §6.1: the cache is keyed by the exact leaf and pinned root; the same
    presentation under a root that did not sign the leaf is refused, before and after it verified."""
    presentation = present(held, iat=int(clock().timestamp()))
    other = _other_root(clock)
    assert code_of(lambda: check(held, presentation, clock(), root_pem=other)) == "untrusted_issuer"
    assert check(held, presentation, clock()).claims["name"]
    assert code_of(lambda: check(held, presentation, clock(), root_pem=other)) == "untrusted_issuer"


def test_a_verified_issuer_signature_counts_only_for_the_key_that_made_it(held: Held, clock: FrozenClock) -> None:
    """RFC 9901 §7.1 step 2: the issuer JWT must verify with the issuer's key. Verified once under the
    pinned root, the same credential is refused with any other key, as if never seen."""
    presentation = present(held, iat=int(clock().timestamp()))
    check(held, presentation, clock())
    stranger = ECKey.generate_key("P-256")
    assert code_of(lambda: check(held, presentation, clock(), root_pem=None, key=stranger)) == "invalid_signature"


def test_a_credential_seen_before_is_still_refused_once_expired(held: Held, clock: FrozenClock) -> None:
    """RFC 9901 §7.1 step 3 / RFC 7519 §4.1.4: ``exp`` is checked on every presentation, also of a
    credential whose issuer signature was verified before."""
    check(held, present(held, iat=int(clock().timestamp())), clock())
    exp = json.loads(sdjwt.b64url_decode(sdjwt.parse(held.credential).issuer_jwt.split(".")[1]))["exp"]
    clock.advance(seconds=exp - clock().timestamp() + 61)
    late = present(held, iat=int(clock().timestamp()))
    assert code_of(lambda: check(held, late, clock())) == "expired"


def test_a_cached_status_list_is_reused_only_with_its_signer(
    held: Held, issuer: WalletRuntime, clock: FrozenClock
) -> None:
    """draft-ietf-oauth-status-list §8.3: the list's signature is by the issuer's key; a list verified
    with that key is not accepted when another key is named as its signer."""
    verified, signer = _status_setup(held, issuer, clock)
    assert verified.status_uri is not None
    token = issuer.publisher.token(verified.status_uri.rsplit("/", 1)[1])
    assert token is not None
    verifier.check_status(verified, token, signer=signer, now=clock(), grace=timedelta(minutes=10))
    stranger = ECKey.generate_key("P-256")
    assert (
        code_of(lambda: verifier.check_status(verified, token, signer=stranger, now=clock(), grace=timedelta(0)))
        == "status_list_invalid"
    )


def test_holder_keys_are_validated_and_thumbprinted_as_joserfc_does() -> None:
    """RFC 7518 §6.2.1 (P-256 JWK, full-length coordinates, a point on the curve) and RFC 7638 (the
    thumbprint the gate records as ``holder_jkt``)."""
    key = ECKey.generate_key("P-256")
    jwk = key.as_dict(private=False)
    public, thumbprint = sdjwt.holder_key(jwk)
    assert thumbprint == key.thumbprint()
    assert sdjwt.holder_key(dict(jwk)) == (public, thumbprint)  # the same key, from the cache
    x = sdjwt.b64url_decode(jwk["x"])
    off_curve = {
        **jwk,
        "y": sdjwt.b64url((int.from_bytes(sdjwt.b64url_decode(jwk["y"]), "big") ^ 1).to_bytes(32, "big")),
    }
    for bad in (
        off_curve,
        {**jwk, "x": sdjwt.b64url(x[1:])},
        {**jwk, "crv": "P-384"},
        {**jwk, "kty": "OKP"},
        {"kty": "EC", "crv": "P-256"},
        "not a JWK",
    ):
        with pytest.raises(ValueError):
            sdjwt.holder_key(bad)
