"""Every bad input of issue 6 at the issuer's endpoints, with the error the specification names:
tampered disclosures, missing or wrong key proofs, stale or reused c_nonces, reused offers and
pre-authorized codes, wrong or brute-forced tx_codes, credentials not offered or not in the token,
and certificates revoked at their source."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey
from sqlmodel import Session, col, select

from connectors.models import Certificate
from tests.integration.wallet.conftest import Seeded
from tests.support.clock import FrozenClock
from tests.support.wallet import (
    Wallet,
    b64json,
    decode_disclosure,
    error_of,
    new_offer,
    proof_jwt,
    split_sd_jwt,
)
from wallet import sdjwt, verifier
from wallet.runtime import WalletRuntime

SKEW = timedelta(seconds=60)


def _card_token(client: TestClient, wallet: Wallet, seeded: Seeded, configurations: list[str] | None = None) -> str:
    offer = new_offer(client.app, seeded.technician_id, configurations or ["ccus_card"])  # type: ignore[arg-type]
    token: str = wallet.access_token(offer)["access_token"]
    return token


def _request(wallet: Wallet, token: str, proofs: list[str], identifier: str = "ccus_card") -> httpx.Response:
    return wallet.credential(token, {"credential_identifier": identifier, "proofs": {"jwt": proofs}})


# -- tampered credentials --------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return sdjwt.b64url(data)


TAMPERING = {
    "edit_value": "unreferenced_disclosure",
    "foreign_disclosure": "unreferenced_disclosure",
    "edit_payload": "invalid_signature",
    "drop_signature": "invalid_signature",
}


def test_a_tampered_credential_is_rejected_by_the_verifier(
    client: TestClient, seeded: Seeded, wallet: Wallet, clock: FrozenClock
) -> None:
    """RFC 9901 §7.1 step 5 (a disclosure that matches no digest, e.g. a changed value or one taken from
    another credential, MUST be rejected) and §7.1 step 2 / §9.1 (the issuer signature MUST verify)."""
    token = _card_token(client, wallet, seeded)
    keys, body = wallet.issue(token, "ccus_card", batch=2)
    credential, other = (item["credential"] for item in body["credentials"])
    root = client.get("/wallet/root.pem").text
    for tamper, expected in TAMPERING.items():
        code = _tampered_code(credential, other, keys[0], tamper, clock, root)
        assert code == expected, tamper


def _tampered_code(credential: str, other: str, key: ECKey, tamper: str, clock: FrozenClock, root: str) -> str:
    issuer_jwt, disclosures, _ = split_sd_jwt(credential)
    if tamper == "edit_value":
        index = next(i for i, d in enumerate(disclosures) if decode_disclosure(d)[1] == "level")
        salt, name, _ = decode_disclosure(disclosures[index])
        disclosures[index] = sdjwt.make_disclosure(salt, name, 4)  # 銀 → 金
    elif tamper == "foreign_disclosure":
        disclosures.append(split_sd_jwt(other)[1][0])
    elif tamper == "edit_payload":
        header, payload, signature = issuer_jwt.split(".")
        claims = b64json(payload)
        claims["exp"] += 365 * 24 * 3600
        issuer_jwt = ".".join([header, _b64(json.dumps(claims).encode()), signature])
    else:
        issuer_jwt = issuer_jwt.rsplit(".", 1)[0] + "." + _b64(b"\0" * 64)
    presentation = sdjwt.Parsed(issuer_jwt, tuple(disclosures), None).without_kb
    kb = jwt.encode(
        {"typ": "kb+jwt", "alg": "ES256"},
        {
            "iat": int(clock().timestamp()),
            "aud": "gate-1",
            "nonce": "n-1",
            "sd_hash": sdjwt.sd_hash(sdjwt.parse(presentation)),
        },
        key,
        algorithms=["ES256"],
    )
    with pytest.raises(verifier.VerificationError) as caught:
        verifier.verify(presentation + kb, now=clock(), aud="gate-1", nonce="n-1", skew=SKEW, root_pem=root)
    return caught.value.code


# -- key proofs ------------------------------------------------------------------------------------


def test_a_missing_proof_is_invalid_proof(client: TestClient, seeded: Seeded, wallet: Wallet) -> None:
    """OpenID4VCI 1.0 §8.3.1.2 ``invalid_proof`` "(1) if the field is missing" (proofs are required
    because the configuration lists proof_types_supported, §8.2)."""
    token = _card_token(client, wallet, seeded)
    for body in (
        {"credential_identifier": "ccus_card"},
        {"credential_identifier": "ccus_card", "proofs": {"jwt": []}},
        {"credential_identifier": "ccus_card", "proofs": {"ldp_vp": ["x"]}},
    ):
        response = wallet.credential(token, body)
        assert response.status_code == 400 and error_of(response) == "invalid_proof", (body, response.text)


PROOF_PROBLEMS = (
    "wrong_typ",
    "wrong_aud",
    "other_signer",
    "private_jwk",
    "stale_iat",
    "future_iat",
    "not_a_jwt",
    "hs256",
)


def test_a_wrong_proof_is_invalid_proof(
    client: TestClient, seeded: Seeded, wallet: Wallet, issuer: WalletRuntime
) -> None:
    """OpenID4VCI 1.0 §8.3.1.2 ``invalid_proof`` "(2) one of the provided key proofs is invalid", per
    Appendix F.1/F.4: typ openid4vci-proof+jwt, an asymmetric alg, a public jwk that verifies the
    signature, aud = Credential Issuer Identifier, iat within the acceptable window."""
    token = _card_token(client, wallet, seeded)
    for problem in PROOF_PROBLEMS:
        _check_wrong_proof(wallet, issuer, token, problem)
    _, proofs = wallet.proofs(1, wallet.nonce())  # none of them burnt anything: a right proof still works
    assert _request(wallet, token, proofs).status_code == 200


def _check_wrong_proof(wallet: Wallet, issuer: WalletRuntime, token: str, problem: str) -> None:
    nonce = wallet.nonce()
    key, other = ECKey.generate_key("P-256"), ECKey.generate_key("P-256")
    aud, now = issuer.config.issuer, wallet.now
    age = int(issuer.config.proof_max_age.total_seconds()) + 1
    proof = {
        "wrong_typ": lambda: proof_jwt(key, aud=aud, nonce=nonce, iat=now, typ="JWT"),
        "wrong_aud": lambda: proof_jwt(key, aud="https://evil.example", nonce=nonce, iat=now),
        "other_signer": lambda: proof_jwt(key, aud=aud, nonce=nonce, iat=now, jwk=other.as_dict(private=False)),
        "private_jwk": lambda: proof_jwt(key, aud=aud, nonce=nonce, iat=now, jwk=key.as_dict(private=True)),
        "stale_iat": lambda: proof_jwt(key, aud=aud, nonce=nonce, iat=now - age),
        "future_iat": lambda: proof_jwt(key, aud=aud, nonce=nonce, iat=now + age),
        "not_a_jwt": lambda: "not.a.jwt",
        "hs256": lambda: jwt.encode(
            {"typ": "openid4vci-proof+jwt", "alg": "HS256", "jwk": {"kty": "oct", "k": "c2VjcmV0"}},
            {"aud": aud, "iat": now, "nonce": nonce},
            OctKey.import_key({"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}),
            algorithms=["HS256"],
        ),
    }[problem]()
    response = _request(wallet, token, [proof])
    assert response.status_code == 400 and error_of(response) == "invalid_proof", (problem, response.text)


def test_a_proof_without_a_nonce_is_invalid_proof(client: TestClient, seeded: Seeded, wallet: Wallet) -> None:
    """OpenID4VCI 1.0 §8.3.1.2 ``invalid_proof`` (3): a key proof without a c_nonce, when the issuer
    has a Nonce Endpoint (§8.2: proofs MUST incorporate the c_nonce)."""
    token = _card_token(client, wallet, seeded)
    _, proofs = wallet.proofs(1, None)
    response = _request(wallet, token, proofs)
    assert response.status_code == 400
    assert error_of(response) == "invalid_proof", response.text


@pytest.mark.parametrize("how", ["used", "expired", "unknown"])
def test_a_stale_or_used_nonce_is_invalid_nonce_with_a_fresh_one(
    client: TestClient, seeded: Seeded, wallet: Wallet, issuer: WalletRuntime, clock: FrozenClock, how: str
) -> None:
    """OpenID4VCI 1.0 §7 (c_nonce single use, unpredictable) and §8.3.1.2 ``invalid_nonce``; the
    error carries a fresh ``c_nonce`` that then works (an extension §8.3.1.2 permits; the wallet may
    also call the Nonce Endpoint again)."""
    token = _card_token(client, wallet, seeded)
    nonce = wallet.nonce()
    if how == "used":
        _, proofs = wallet.proofs(1, nonce)
        assert _request(wallet, token, proofs).status_code == 200
    elif how == "expired":
        clock.advance(seconds=issuer.config.nonce_lifetime.total_seconds() + 1)
        wallet.now = int(clock().timestamp())
    else:
        nonce = "never-issued-" + nonce
    _, proofs = wallet.proofs(1, nonce)
    response = _request(wallet, token, proofs)
    assert response.status_code == 400 and error_of(response) == "invalid_nonce", response.text
    assert "no-store" in response.headers["cache-control"]
    fresh = response.json()["c_nonce"]
    assert fresh and fresh != nonce
    _, proofs = wallet.proofs(1, fresh)
    assert _request(wallet, token, proofs).status_code == 200


def test_one_used_nonce_spoils_a_whole_batch(client: TestClient, seeded: Seeded, wallet: Wallet) -> None:
    """OpenID4VCI 1.0 §8.3.1.2 ``invalid_nonce``: "at least one of the key proofs contains an invalid
    c_nonce value" — nothing of the batch is issued, and the good nonce is not burnt."""
    token = _card_token(client, wallet, seeded)
    used, good = wallet.nonce(), wallet.nonce()
    _, proofs = wallet.proofs(1, used)
    assert _request(wallet, token, proofs).status_code == 200
    _, first = wallet.proofs(1, good)
    _, second = wallet.proofs(1, used)
    response = _request(wallet, token, first + second)
    assert error_of(response) == "invalid_nonce"
    _, proofs = wallet.proofs(2, good)
    assert len(_request(wallet, token, proofs).json()["credentials"]) == 2


# -- offers, pre-authorized codes and tx_codes -----------------------------------------------------


def test_an_offer_already_used_is_gone_and_its_code_is_invalid_grant(
    client: TestClient, seeded: Seeded, wallet: Wallet
) -> None:
    """OpenID4VCI 1.0 §4.1.1: the pre-authorized code "MUST be short lived and single use"; §6.3:
    a used code is ``invalid_grant`` (RFC 6749 §5.2, HTTP 400); the offer document is gone (404)."""
    offer = new_offer(client.app, seeded.technician_id)  # type: ignore[arg-type]
    code = wallet.code_of(wallet.fetch_offer(offer.link))
    assert wallet.token(code, offer.tx_code).status_code == 200
    again = wallet.token(code, offer.tx_code)
    assert again.status_code == 400 and error_of(again) == "invalid_grant"
    assert client.get(offer.offer_uri).status_code == 404


def test_fetching_an_offer_again_does_not_void_its_code_and_codes_expire(
    client: TestClient, seeded: Seeded, wallet: Wallet, issuer: WalletRuntime, clock: FrozenClock
) -> None:
    """OpenID4VCI 1.0 §6.3 ``invalid_grant``: "the Pre-Authorized Code has expired". Issue 12 item 8:
    anyone who sees the QR can fetch the offer; a fetch must not re-mint the code and so void the
    code the holder's wallet already has (the tx_code is what keeps a stranger from redeeming it)."""
    offer = new_offer(client.app, seeded.technician_id)  # type: ignore[arg-type]
    first = wallet.code_of(wallet.fetch_offer(offer.link))
    second = wallet.code_of(wallet.fetch_offer(offer.link))
    assert first == second
    clock.advance(seconds=issuer.config.offer_lifetime.total_seconds() + 1)
    expired = wallet.token(second, offer.tx_code)
    assert expired.status_code == 400 and error_of(expired) == "invalid_grant"
    assert client.get(offer.offer_uri).status_code == 404


def test_a_wrong_tx_code_is_invalid_grant_and_five_wrong_ones_kill_the_offer(
    client: TestClient, seeded: Seeded, wallet: Wallet, issuer: WalletRuntime
) -> None:
    """OpenID4VCI 1.0 §6.3: a wrong Transaction Code is ``invalid_grant`` (HTTP 400, RFC 6749 §5.2);
    §13.6.1 (the Transaction Code is what stops a replayed pre-authorized code, so it must not be
    guessable by brute force): after ``tx_code_attempts`` (5) wrong codes even the right one
    fails, so a 6-digit code cannot be guessed."""
    offer = new_offer(client.app, seeded.technician_id)  # type: ignore[arg-type]
    assert offer.tx_code is not None
    code = wallet.code_of(wallet.fetch_offer(offer.link))
    wrong = f"{(int(offer.tx_code) + 1) % 1_000_000:06d}"
    for _ in range(issuer.config.tx_code_attempts):
        response = wallet.token(code, wrong)
        assert response.status_code == 400 and error_of(response) == "invalid_grant", response.text
        assert "no-store" in response.headers.get("cache-control", "")
    right = wallet.token(code, offer.tx_code)
    assert right.status_code == 400 and error_of(right) == "invalid_grant"


def test_fewer_wrong_tx_codes_than_the_limit_still_allow_the_right_one(
    client: TestClient, seeded: Seeded, wallet: Wallet, issuer: WalletRuntime
) -> None:
    """OpenID4VCI 1.0 §6.3 / §13.6.1: the limit counts wrong attempts; a typo is forgiven."""
    offer = new_offer(client.app, seeded.technician_id)  # type: ignore[arg-type]
    assert offer.tx_code is not None
    code = wallet.code_of(wallet.fetch_offer(offer.link))
    for _ in range(issuer.config.tx_code_attempts - 1):
        assert error_of(wallet.token(code, "000000" if offer.tx_code != "000000" else "111111")) == "invalid_grant"
    assert wallet.token(code, offer.tx_code).status_code == 200


def test_a_missing_tx_code_is_invalid_request(client: TestClient, seeded: Seeded, wallet: Wallet) -> None:
    """OpenID4VCI 1.0 §6.3 ``invalid_request``: "The Authorization Server expects a Transaction Code
    ... but the Client does not provide a Transaction Code"."""
    offer = new_offer(client.app, seeded.technician_id)  # type: ignore[arg-type]
    code = wallet.code_of(wallet.fetch_offer(offer.link))
    response = wallet.token(code, None)
    assert response.status_code == 400 and error_of(response) == "invalid_request"
    assert wallet.token(code, offer.tx_code).status_code == 200  # not an attempt against the limit


def test_an_unexpected_tx_code_is_invalid_request(client: TestClient, seeded: Seeded, wallet: Wallet) -> None:
    """OpenID4VCI 1.0 §6.3 ``invalid_request`` for a Transaction Code the offer did not ask for."""
    offer = new_offer(client.app, seeded.technician_id, with_tx_code=False)  # type: ignore[arg-type]
    document = wallet.fetch_offer(offer.link)
    assert "tx_code" not in document["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
    response = wallet.token(wallet.code_of(document), "123456")
    assert response.status_code == 400 and error_of(response) == "invalid_request"


def test_an_offer_without_tx_code_redeems_with_the_code_alone(
    client: TestClient, seeded: Seeded, wallet: Wallet
) -> None:
    """OpenID4VCI 1.0 §4.1.1: without a ``tx_code`` object none is expected (the default)."""
    offer = new_offer(client.app, seeded.technician_id, with_tx_code=False)  # type: ignore[arg-type]
    assert offer.tx_code is None
    response = wallet.token(wallet.code_of(wallet.fetch_offer(offer.link)), None)
    assert response.status_code == 200, response.text


# -- what the token covers -------------------------------------------------------------------------


def test_credentials_not_offered_or_not_in_the_token_are_refused(
    client: TestClient, seeded: Seeded, wallet: Wallet
) -> None:
    """OpenID4VCI 1.0 §8.3.1.2: ``unknown_credential_configuration`` (unknown configuration),
    ``unknown_credential_identifier`` (an identifier the token does not cover), and
    ``invalid_credential_request`` (both or neither of credential_identifier /
    credential_configuration_id, §8.2; a configuration this token was not issued for)."""
    token = _card_token(client, wallet, seeded, ["ccus_card"])  # the offer is for the card only
    cert_ref = seeded.certificates[0].ref
    cases = [
        ({"credential_identifier": cert_ref}, "unknown_credential_identifier"),
        ({"credential_identifier": "no-such-thing"}, "unknown_credential_identifier"),
        ({"credential_configuration_id": "mDL"}, "unknown_credential_configuration"),
        ({"credential_configuration_id": "skill_training_certificate"}, "invalid_credential_request"),
        (
            {"credential_identifier": "ccus_card", "credential_configuration_id": "ccus_card"},
            "invalid_credential_request",
        ),
        ({}, "invalid_credential_request"),
    ]
    for request, error in cases:
        _, proofs = wallet.proofs(1, wallet.nonce())
        response = wallet.credential(token, {**request, "proofs": {"jwt": proofs}})
        assert response.status_code == 400 and error_of(response) == error, (request, response.text)
    for raw in (b"not json", b"[1, 2]"):
        response = client.post(
            "/wallet/credential",
            content=raw,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert response.status_code == 400 and error_of(response) == "invalid_credential_request"


def test_no_or_a_bad_access_token_is_an_authorization_error(client: TestClient, seeded: Seeded, wallet: Wallet) -> None:
    """OpenID4VCI 1.0 §8.3.1.1 / RFC 6750 §3: 401 ``invalid_token`` with WWW-Authenticate."""
    _, proofs = wallet.proofs(1, wallet.nonce())
    body = {"credential_identifier": "ccus_card", "proofs": {"jwt": proofs}}
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic Zm9vOmJhcg=="}):
        response = client.post("/wallet/credential", json=body, headers=headers)
        assert response.status_code == 401 and error_of(response) == "invalid_token", response.text
        assert "www-authenticate" in response.headers or headers


def test_a_certificate_revoked_at_its_source_is_credential_request_denied(
    client: TestClient, seeded: Seeded, wallet: Wallet, issuer: WalletRuntime
) -> None:
    """OpenID4VCI 1.0 §8.3.1.2 ``credential_request_denied`` ("the Credential cannot be issued"): the
    certificate was in the token, then revoked (or superseded) at its source before the request."""
    offer = new_offer(client.app, seeded.technician_id)  # type: ignore[arg-type]
    token = wallet.access_token(offer)["access_token"]
    revoked, superseded = seeded.certificates
    with Session(issuer.engine) as session:
        for cert, state in ((revoked, "revoked"), (superseded, "superseded")):
            row = session.exec(select(Certificate).where(col(Certificate.certificate_number) == cert.number)).one()
            row.status = state
            session.add(row)
        session.commit()
    for cert in (revoked, superseded):
        _, proofs = wallet.proofs(1, wallet.nonce())
        response = _request(wallet, token, proofs, cert.ref)
        assert response.status_code == 400 and error_of(response) == "credential_request_denied", response.text
    _, body = wallet.issue(token, "ccus_card")  # the card is unaffected
    assert body["credentials"]


def test_a_revoked_certificate_is_left_out_of_the_next_token(
    client: TestClient, seeded: Seeded, wallet: Wallet, issuer: WalletRuntime
) -> None:
    """OpenID4VCI 1.0 §6.2: ``credential_identifiers`` lists only datasets that can be issued."""
    with Session(issuer.engine) as session:
        row = session.exec(
            select(Certificate).where(col(Certificate.certificate_number) == seeded.certificates[0].number)
        ).one()
        row.status = "revoked"
        session.add(row)
        session.commit()
    token = wallet.access_token(new_offer(client.app, seeded.technician_id))  # type: ignore[arg-type]
    details = {d["credential_configuration_id"]: d["credential_identifiers"] for d in token["authorization_details"]}
    assert details["skill_training_certificate"] == [seeded.certificates[1].ref]
