"""The compact JWS core (common/jws.py): interoperability with joserfc both ways, and every check it
makes refusing what it must (RFC 7515 §5.2, RFC 7518 §3.4, RFC 8037 §3.1, RFC 8725 §3.1)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey

from common import jws

# joserfc flags EdDSA as deprecated by RFC 9864; the provider still signs it (idp/oauth/keys.py)
pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")

CLAIMS: dict[str, Any] = {"iss": "https://id.example.jp", "sub": "技能者", "exp": 2_000_000_000}


def _es256() -> ECKey:
    return ECKey.generate_key("P-256")


def _ed25519() -> OKPKey:
    return OKPKey.generate_key("Ed25519")


def _parts(token: str) -> list[str]:
    return token.split(".")


def _with_header(token: str, header: dict[str, Any]) -> str:
    _, payload, signature = _parts(token)
    return ".".join((jws.b64url(json.dumps(header).encode()), payload, signature))


@pytest.mark.parametrize(("make", "alg"), [(_es256, "ES256"), (_ed25519, "EdDSA")])
def test_tokens_signed_here_verify_with_joserfc(make: Any, alg: str) -> None:
    """RFC 7515 §7.1 / RFC 7518 §3.4 / RFC 8037 §3.1: what the core signs is a JWS joserfc accepts."""
    key = make()
    token = jws.encode_jwt({"typ": "at+jwt", "alg": alg, "kid": "k1"}, CLAIMS, key.private_key)
    decoded = jwt.decode(token, key, algorithms=[alg])
    assert decoded.claims == CLAIMS and decoded.header == {"typ": "at+jwt", "alg": alg, "kid": "k1"}


@pytest.mark.parametrize(("make", "alg"), [(_es256, "ES256"), (_ed25519, "EdDSA")])
def test_tokens_signed_by_joserfc_verify_here(make: Any, alg: str) -> None:
    """RFC 7515 §5.2: a JWS joserfc signs verifies with the core, header and claims intact (each of
    32 ES256 signatures, so both low-S and high-S ones, which RFC 7518 §3.4 both allows)."""
    key = make()
    for _ in range(32 if alg == "ES256" else 1):
        token = jwt.encode({"typ": "JWT", "alg": alg, "kid": "k1"}, CLAIMS, key, algorithms=[alg])
        header, claims = jws.decode_jwt(token, key.public_key, typ="JWT")
        assert claims == CLAIMS and header["kid"] == "k1"


def test_es256_signatures_are_raw_r_s_and_low_s() -> None:
    """RFC 7518 §3.4: the signature is the 64 octets R || S; the core always picks S <= n/2."""
    key = _es256().private_key
    for _ in range(32):
        signature = jws.b64url_decode(_parts(jws.encode_jwt({"alg": "ES256"}, CLAIMS, key))[2])
        assert len(signature) == 64
        assert int.from_bytes(signature[32:], "big") <= jws.P256_ORDER // 2


def test_a_high_s_signature_still_verifies() -> None:
    """RFC 7518 §3.4 does not require low S, and WebCrypto wallets and joserfc sign high-S half the
    time: (r, n - s), the other valid form of a signature, is accepted (see the module docstring)."""
    key = _es256().private_key
    token = jws.encode_jwt({"alg": "ES256"}, CLAIMS, key)
    head, payload, signature = _parts(token)
    raw = jws.b64url_decode(signature)
    high = raw[:32] + (jws.P256_ORDER - int.from_bytes(raw[32:], "big")).to_bytes(32, "big")
    assert jws.decode_jwt(f"{head}.{payload}.{jws.b64url(high)}", key.public_key())[1] == CLAIMS


def test_a_der_encoded_es256_signature_is_refused() -> None:
    """RFC 7518 §3.4: the JWS signature is R || S, not the ASN.1 DER form OpenSSL produces."""
    key = _es256().private_key
    head, payload, signature = _parts(jws.encode_jwt({"alg": "ES256"}, CLAIMS, key))
    raw = jws.b64url_decode(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    with pytest.raises(jws.JWSError, match="64 bytes"):
        jws.decode_jwt(f"{head}.{payload}.{jws.b64url(der)}", key.public_key())


@pytest.mark.parametrize(
    ("r", "s"), [(0, 1), (1, 0), (jws.P256_ORDER, 1), (1, jws.P256_ORDER)], ids=["r0", "s0", "r=n", "s=n"]
)
def test_es256_r_and_s_out_of_range_are_refused(r: int, s: int) -> None:
    """SEC 1 §4.1.4 step 1: r and s must be in [1, n-1]."""
    key = _es256().private_key
    head, payload, _ = _parts(jws.encode_jwt({"alg": "ES256"}, CLAIMS, key))
    signature = jws.b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
    with pytest.raises(jws.JWSError):
        jws.decode_jwt(f"{head}.{payload}.{signature}", key.public_key())


@pytest.mark.parametrize("part", [0, 1, 2], ids=["header", "payload", "signature"])
@pytest.mark.parametrize(("make", "alg"), [(_es256, "ES256"), (_ed25519, "EdDSA")])
def test_any_altered_part_is_refused(make: Any, alg: str, part: int) -> None:
    """RFC 7515 §5.2 step 8: the signature covers the header and payload as sent; a change to any of
    the three parts fails verification."""
    key = make()
    token = jws.encode_jwt({"alg": alg, "typ": "JWT"}, CLAIMS, key.private_key)
    parts = _parts(token)
    if part == 0:
        parts[0] = jws.b64url(json.dumps({"alg": alg, "typ": "JWT", "kid": "x"}).encode())
    elif part == 1:
        parts[1] = jws.b64url(json.dumps({**CLAIMS, "sub": "someone else"}).encode())
    else:
        raw = bytearray(jws.b64url_decode(parts[2]))
        raw[10] ^= 1
        parts[2] = jws.b64url(bytes(raw))
    with pytest.raises(jws.JWSError, match="does not verify"):
        jws.decode_jwt(".".join(parts), key.public_key)


@pytest.mark.parametrize("alg", ["none", "HS256", "HS512"])
def test_none_and_hmac_are_refused_even_when_listed(alg: str) -> None:
    """RFC 8725 §3.1 / §2.1: ``none`` and an HMAC keyed with the public key must never verify, even
    if a caller lists them."""
    key = _es256()
    public = key.as_bytes(private=False)  # the PEM an attacker would use as the HMAC secret
    head = jws.b64url(json.dumps({"alg": alg}).encode())
    body = jws.b64url(json.dumps(CLAIMS).encode())
    mac = hmac.new(public, f"{head}.{body}".encode(), hashlib.sha256).digest()
    for signature in ("", jws.b64url(mac)):
        with pytest.raises(jws.JWSError, match="not allowed"):
            jws.decode_jwt(f"{head}.{body}.{signature}", key.public_key, algs=("ES256", alg))


def test_an_algorithm_not_in_the_allow_list_is_refused() -> None:
    """RFC 8725 §3.1: the verifier's allow-list decides; an EdDSA token is refused where only ES256 is."""
    key = _ed25519()
    token = jws.encode_jwt({"alg": "EdDSA"}, CLAIMS, key.private_key)
    with pytest.raises(jws.JWSError, match="not allowed"):
        jws.decode_jwt(token, key.public_key, algs=("ES256",))


def test_the_alg_must_match_the_key_type() -> None:
    """RFC 8725 §3.1: an ES256 token is not checked with an Ed25519 key nor the reverse, and a P-384
    key is not an ES256 key (RFC 7518 §3.4)."""
    ec_key, ed_key = _es256(), _ed25519()
    es_token = jws.encode_jwt({"alg": "ES256"}, CLAIMS, ec_key.private_key)
    ed_token = jws.encode_jwt({"alg": "EdDSA"}, CLAIMS, ed_key.private_key)
    with pytest.raises(jws.JWSError, match="does not match"):
        jws.decode_jwt(es_token, ed_key.public_key)
    with pytest.raises(jws.JWSError, match="does not match"):
        jws.decode_jwt(ed_token, ec_key.public_key)
    p384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(jws.JWSError):
        jws.decode_jwt(es_token, p384.public_key())
    with pytest.raises(jws.JWSError, match=r"does not match|no supported"):
        jws.encode_jwt({"alg": "ES256"}, CLAIMS, ed25519.Ed25519PrivateKey.generate())  # type: ignore[arg-type]


def test_a_signature_by_another_key_is_refused() -> None:
    """RFC 7515 §5.2 step 8: the right algorithm and key type, but not the signer's key."""
    token = jws.encode_jwt({"alg": "ES256"}, CLAIMS, _es256().private_key)
    with pytest.raises(jws.JWSError, match="does not verify"):
        jws.decode_jwt(token, _es256().public_key)


def test_the_key_resolver_sees_the_kid_and_may_find_none() -> None:
    """RFC 7515 §4.1.4: ``kid`` picks the key; an unknown ``kid`` is refused, a non-string one too."""
    key = _es256()
    token = jws.encode_jwt({"alg": "ES256", "kid": "known"}, CLAIMS, key.private_key)
    keys = {"known": key.public_key}
    assert jws.decode_jwt(token, lambda header: keys.get(header.get("kid", "")))[1] == CLAIMS
    with pytest.raises(jws.JWSError, match="no key"):
        jws.decode_jwt(token, lambda header: None)
    with pytest.raises(jws.JWSError, match="kid"):
        jws.decode_jwt(_with_header(token, {"alg": "ES256", "kid": 7}), key.public_key)


def test_typ_and_crit_are_checked() -> None:
    """RFC 8725 §3.11: the expected ``typ`` is required; RFC 7515 §4.1.11: ``crit`` is not understood."""
    key = _es256()
    token = jws.encode_jwt({"alg": "ES256", "typ": "JWT"}, CLAIMS, key.private_key)
    with pytest.raises(jws.JWSError, match="typ"):
        jws.decode_jwt(token, key.public_key, typ="at+jwt")
    critical = jws.encode_jwt({"alg": "ES256", "crit": ["exp"], "exp": 1}, CLAIMS, key.private_key)
    with pytest.raises(jws.JWSError, match="critical"):
        jws.decode_jwt(critical, key.public_key)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t + "=",  # padding (RFC 7515 §2)
        lambda t: t.replace("-", "+").replace("_", "/") if ("-" in t or "_" in t) else t + "+",
        lambda t: t + ".extra",
        lambda t: t.split(".", 1)[1],
        lambda t: "!" + t,
    ],
    ids=["padding", "standard-alphabet", "four-parts", "two-parts", "bad-char"],
)
def test_malformed_compact_serialisations_are_refused(mangle: Any) -> None:
    """RFC 7515 §7.1 and §2: three parts of unpadded base64url, nothing else."""
    key = _es256()
    token = jws.encode_jwt({"alg": "ES256"}, CLAIMS, key.private_key)
    with pytest.raises(jws.JWSError):
        jws.decode_jwt(mangle(token), key.public_key)


def test_claims_must_be_a_json_object() -> None:
    """RFC 7519 §7.2 step 10: the JWT Claims Set is a JSON object."""
    key = _es256()
    token = jws.sign({"alg": "ES256"}, b"[1,2]", key.private_key)
    with pytest.raises(jws.JWSError, match="object"):
        jws.decode_jwt(token, key.public_key)


def test_a_raw_signature_verifies_for_any_payload_bytes() -> None:
    """RFC 7515 §3.1: the payload is arbitrary octets; :func:`jws.sign`/``verify`` keep them as sent."""
    key = _ed25519()
    compact = jws.parse(jws.sign({"alg": "EdDSA"}, b"\x00\xffbytes", key.private_key))
    jws.verify(compact, key.public_key)
    assert compact.payload == b"\x00\xffbytes"
