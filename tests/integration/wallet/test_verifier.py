"""The gate's verifier (``wallet.verifier``) on credentials the issuer really issued: key binding
(aud, nonce, sd_hash, iat within the skew, the holder's key, typ), expiry, the issuer chain to the
pinned root, and the status list (fresh enough or fail closed, revoked, suspended, not this list)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlmodel import Session

from tests.integration.wallet.conftest import Seeded
from tests.support.clock import FrozenClock
from tests.support.wallet import Wallet, new_offer
from wallet import sdjwt, status, verifier
from wallet.keys import verify_chain
from wallet.runtime import WalletRuntime

SKEW = timedelta(seconds=60)
GRACE = timedelta(minutes=10)
AUD, NONCE = "https://gate.genba.example/site-7", "n-0S6_WzA2Mj"


@dataclasses.dataclass
class Held:
    credential: str
    key: ECKey
    root: str


@pytest.fixture
def held(client: TestClient, seeded: Seeded, wallet: Wallet) -> Held:
    token = wallet.access_token(new_offer(client.app, seeded.technician_id, ["ccus_card"]))  # type: ignore[arg-type]
    keys, body = wallet.issue(token["access_token"], "ccus_card")
    return Held(body["credentials"][0]["credential"], keys[0], client.get("/wallet/root.pem").text)


def present(held: Held, *, iat: int, aud: str = AUD, nonce: str = NONCE, reveal: tuple[str, ...] = ("name",)) -> str:
    return sdjwt.present(held.credential, reveal=reveal, holder_key=held.key, aud=aud, nonce=nonce, iat=iat)


def kb_jwt(parsed: sdjwt.Parsed, key: ECKey, claims: dict[str, object], typ: str = "kb+jwt") -> str:
    body = {"iat": 0, "aud": AUD, "nonce": NONCE, "sd_hash": sdjwt.sd_hash(parsed), **claims}
    return jwt.encode({"typ": typ, "alg": "ES256"}, body, key, algorithms=["ES256"])


def check(held: Held, presentation: str, now: datetime, **options: object) -> verifier.Verified:
    values = {"now": now, "aud": AUD, "nonce": NONCE, "skew": SKEW, "root_pem": held.root, **options}
    return verifier.verify(presentation, **values)  # type: ignore[arg-type]


def code_of(call: object) -> str:
    with pytest.raises(verifier.VerificationError) as caught:
        call()  # type: ignore[operator]
    return caught.value.code


def test_a_presentation_with_key_binding_verifies_and_reveals_only_what_was_chosen(
    held: Held, clock: FrozenClock, client: TestClient
) -> None:
    """RFC 9901 §4.3 / §7.3: SD-JWT+KB with the chosen disclosures verifies offline against the pinned
    root (SD-JWT VC §3.5 x5c) and against the key published at /.well-known/jwt-vc-issuer (§5)."""
    now = clock()
    presentation = present(held, iat=int(now.timestamp()), reveal=("name", "level"))
    verified = check(held, presentation, now)
    assert verified.claims["name"] == "鈴木 一郎" and verified.claims["level"] == 3
    assert "technician_id" not in verified.claims and "employer" not in verified.claims
    assert verified.vct.endswith("/vct/ccus-technician-card") and verified.status_index is not None
    [jwk] = client.get("/.well-known/jwt-vc-issuer").json()["jwks"]["keys"]
    assert check(held, presentation, now, root_pem=None, key=ECKey.import_key(jwk)).claims == verified.claims


BAD_KEY_BINDING = {
    "wrong_aud": "invalid_kb_aud",
    "wrong_nonce": "invalid_kb_nonce",
    "iat_too_old": "invalid_kb_iat",
    "iat_in_the_future": "invalid_kb_iat",
    "disclosure_added_after_signing": "invalid_kb_sd_hash",
    "disclosure_removed_after_signing": "invalid_kb_sd_hash",
    "signed_by_another_key": "invalid_kb",
    "typ_jwt": "invalid_kb",
    "no_kb": "missing_kb",
}


def test_a_bad_key_binding_is_rejected(held: Held, clock: FrozenClock) -> None:
    """RFC 9901 §7.3 (Verification by the Verifier) step 2 (KB required but absent), 5.3 (signature by
    the ``cnf`` key), 5.4 (typ kb+jwt), 5.5 (iat within an acceptable window), 5.6 (nonce and aud) and
    5.7 (``sd_hash`` over the presented Issuer-signed JWT and Disclosures, §4.3.1)."""
    for case, code in BAD_KEY_BINDING.items():
        _check_bad_key_binding(held, clock, case, code)


def _check_bad_key_binding(held: Held, clock: FrozenClock, case: str, code: str) -> None:
    now = int(clock().timestamp())
    skew = int(SKEW.total_seconds())
    base = sdjwt.parse(present(held, iat=now, reveal=("name", "level")))
    assert base.kb_jwt is not None
    stripped = sdjwt.Parsed(base.issuer_jwt, base.disclosures, None)
    all_disclosures = sdjwt.parse(held.credential).disclosures
    extra = next(d for d in all_disclosures if d not in base.disclosures)
    if case == "wrong_aud":
        presentation = present(held, iat=now, aud="https://other-gate.example")
    elif case == "wrong_nonce":
        presentation = present(held, iat=now, nonce="replayed")
    elif case == "iat_too_old":
        presentation = present(held, iat=now - skew - 1)
    elif case == "iat_in_the_future":
        presentation = present(held, iat=now + skew + 1)
    elif case == "disclosure_added_after_signing":
        presentation = sdjwt.Parsed(base.issuer_jwt, (*base.disclosures, extra), None).without_kb + base.kb_jwt
    elif case == "disclosure_removed_after_signing":
        presentation = sdjwt.Parsed(base.issuer_jwt, base.disclosures[:1], None).without_kb + base.kb_jwt
    elif case == "signed_by_another_key":
        presentation = stripped.without_kb + kb_jwt(stripped, ECKey.generate_key("P-256"), {"iat": now})
    elif case == "typ_jwt":
        presentation = stripped.without_kb + kb_jwt(stripped, held.key, {"iat": now}, typ="JWT")
    else:
        presentation = stripped.without_kb
    assert code_of(lambda: check(held, presentation, clock())) == code, case
    if case == "no_kb":  # only a verifier whose policy does not require key binding accepts it
        assert check(held, presentation, clock(), require_kb=False).claims["name"] == "鈴木 一郎"


def test_key_binding_iat_inside_the_skew_is_accepted(held: Held, clock: FrozenClock) -> None:
    """RFC 9901 §7.3 step 5.5: "within an acceptable window" — here ± the verifier's skew."""
    now = int(clock().timestamp())
    skew = int(SKEW.total_seconds())
    for iat in (now - skew, now + skew):
        assert check(held, present(held, iat=iat), clock()).claims["name"]


def test_an_expired_credential_is_rejected(held: Held, clock: FrozenClock, client: TestClient) -> None:
    """RFC 9901 §7.1 step 6 / RFC 7519 §4.1.4: ``exp`` (with the skew) — checked against the published
    issuer key, so the result does not depend on the x5c certificate's own validity."""
    [jwk] = client.get("/.well-known/jwt-vc-issuer").json()["jwks"]["keys"]
    key = ECKey.import_key(jwk)
    _, payload = sdjwt.verify_issuer_jwt(sdjwt.parse(held.credential).issuer_jwt, key)
    expiry = datetime.fromtimestamp(payload["exp"], UTC)
    at_limit = expiry + SKEW
    assert check(held, present(held, iat=int(at_limit.timestamp())), at_limit, root_pem=None, key=key)
    after = at_limit + timedelta(seconds=1)
    presentation = present(held, iat=int(after.timestamp()))
    assert code_of(lambda: check(held, presentation, after, root_pem=None, key=key)) == "expired"


def _other_root(clock: FrozenClock) -> str:
    other_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Genba ID Credential Root")])  # same name, other key
    other_root = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(other_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(clock() - timedelta(days=1))
        .not_valid_after(clock() + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(other_key, hashes.SHA256())
    )
    return other_root.public_bytes(serialization.Encoding.PEM).decode()


def test_an_issuer_not_under_the_pinned_root_is_rejected(held: Held, clock: FrozenClock) -> None:
    """SD-JWT VC §3.5 (x5c, RFC 5280 path validation to the trust anchor the verifier pins): a root
    with the same name but another key does not certify the issuer (fails closed)."""
    presentation = present(held, iat=int(clock().timestamp()))
    with pytest.raises(verifier.VerificationError):
        check(held, presentation, clock(), root_pem=_other_root(clock))


def test_an_issuer_not_under_the_pinned_root_is_reported_as_untrusted(held: Held, clock: FrozenClock) -> None:
    """SD-JWT VC §3.5: the verifier's stable reason code for a chain that does not reach the pinned
    root is ``untrusted_issuer`` (wallet.verifier.issuer_key), which the gate shows in ja/en."""
    presentation = present(held, iat=int(clock().timestamp()))
    assert code_of(lambda: check(held, presentation, clock(), root_pem=_other_root(clock))) == "untrusted_issuer"


# -- status ----------------------------------------------------------------------------------------


def _status_setup(held: Held, issuer: WalletRuntime, clock: FrozenClock) -> tuple[verifier.Verified, ECKey]:
    verified = check(held, present(held, iat=int(clock().timestamp())), clock())
    header = json.loads(sdjwt.b64url_decode(sdjwt.parse(held.credential).issuer_jwt.split(".")[0]))
    return verified, verify_chain(header["x5c"], held.root, now=clock())


def _list_id(verified: verifier.Verified) -> str:
    assert verified.status_uri is not None
    return verified.status_uri.rsplit("/", 1)[1]


def test_a_status_list_older_than_ttl_plus_grace_fails_closed(
    held: Held, issuer: WalletRuntime, clock: FrozenClock
) -> None:
    """draft-ietf-oauth-status-list §13.7 (``ttl``) and §8.3 (Status List Token validation, ``exp``):
    a gate that could not refresh its list within ttl + grace refuses rather than trusting it."""
    verified, signer = _status_setup(held, issuer, clock)
    token = issuer.publisher.token(_list_id(verified))
    assert token is not None
    start = clock()
    limit = start + status.TTL + GRACE
    assert verifier.check_status(verified, token, signer=signer, now=limit, grace=GRACE) == status.VALID
    too_late = limit + timedelta(seconds=1)
    assert (
        code_of(lambda: verifier.check_status(verified, token, signer=signer, now=too_late, grace=GRACE))
        == "status_list_stale"
    )
    past_exp = start + status.LIFETIME + timedelta(seconds=1)
    assert (
        code_of(lambda: verifier.check_status(verified, token, signer=signer, now=past_exp, grace=timedelta(days=2)))
        == "status_list_stale"
    )


@pytest.mark.parametrize(("value", "code"), [(status.INVALID, "revoked"), (status.SUSPENDED, "suspended")])
def test_a_revoked_or_suspended_credential_is_refused(
    held: Held, issuer: WalletRuntime, clock: FrozenClock, value: int, code: str
) -> None:
    """draft-ietf-oauth-status-list §7.1 (0x01 INVALID, 0x02 SUSPENDED) and §8.3: the entry at
    ``idx`` of the freshly fetched list decides."""
    verified, signer = _status_setup(held, issuer, clock)
    clock.advance(seconds=1)
    with Session(issuer.engine) as session:
        from sqlmodel import col, select

        from wallet.models import IssuedCredential

        row = session.exec(
            select(IssuedCredential).where(col(IssuedCredential.status_index) == verified.status_index)
        ).one()
        status.set_status(session, [row.id], value, reason="test", now=clock())
        session.commit()
    token = issuer.publisher.token(_list_id(verified))
    assert token is not None
    assert code_of(lambda: verifier.check_status(verified, token, signer=signer, now=clock(), grace=GRACE)) == code


def test_a_status_list_not_signed_by_the_issuer_or_for_another_uri_is_invalid(
    held: Held, issuer: WalletRuntime, clock: FrozenClock
) -> None:
    """draft-ietf-oauth-status-list §8.3: the Status List Token's signature (by the issuer) and its
    ``sub`` equal to the Referenced Token's ``status_list.uri`` are checked."""
    verified, signer = _status_setup(held, issuer, clock)
    token = issuer.publisher.token(_list_id(verified))
    assert token is not None
    forged = jwt.encode(
        {"typ": "statuslist+jwt", "alg": "ES256"},
        json.loads(sdjwt.b64url_decode(token.split(".")[1])),
        ECKey.generate_key("P-256"),
        algorithms=["ES256"],
    )
    assert (
        code_of(lambda: verifier.check_status(verified, forged, signer=signer, now=clock(), grace=GRACE))
        == "status_list_invalid"
    )
    elsewhere = dataclasses.replace(verified, status_uri=f"{issuer.config.issuer}/wallet/status/another-list")
    assert (
        code_of(lambda: verifier.check_status(elsewhere, token, signer=signer, now=clock(), grace=GRACE))
        == "status_list_invalid"
    )
