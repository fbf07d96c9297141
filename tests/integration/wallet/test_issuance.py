"""Issuance through the pre-authorized code flow over the ASGI app (SQLite and PostgreSQL), and the
format of what comes out: an SD-JWT VC (``dc+sd-jwt``) whose issuer certificate chains to the
pinned root, bound to the proof key, with status and only personal claims selectively disclosable."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey

from tests.integration.wallet.conftest import Seeded
from tests.support.clock import FrozenClock
from tests.support.wallet import (
    ALWAYS_VISIBLE,
    CARD_PERSONAL,
    EMPLOYER_ID,
    EMPLOYER_NAME,
    Wallet,
    decode_disclosure,
    error_of,
    jwt_parts,
    new_offer,
    split_sd_jwt,
)
from wallet import sdjwt
from wallet.credentials import VALIDITY
from wallet.offers import PRE_AUTH_GRANT
from wallet.runtime import WalletRuntime


def _b64_digest(disclosure: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(disclosure.encode("ascii")).digest()).rstrip(b"=").decode()


def test_issuer_metadata_and_authorization_server_metadata(client: TestClient, issuer: WalletRuntime) -> None:
    """OpenID4VCI 1.0 §12.2.4 (Credential Issuer Metadata): dc+sd-jwt configurations with vct, jwt
    proofs with ES256, the nonce and notification endpoints and batch issuance; §12.3 / RFC 8414: the
    authorization server advertises the pre-authorized code grant and anonymous access (§6.1)."""
    metadata = client.get("/.well-known/openid-credential-issuer").json()
    base = issuer.config.issuer
    assert metadata["credential_issuer"] == base
    assert metadata["credential_endpoint"] == f"{base}/wallet/credential"
    assert metadata["nonce_endpoint"] == f"{base}/wallet/nonce"
    assert metadata["notification_endpoint"] == f"{base}/wallet/notification"
    assert metadata["batch_credential_issuance"]["batch_size"] == issuer.config.batch_size >= 2
    for configuration_id, vct_path in (
        ("ccus_card", "ccus-technician-card"),
        ("skill_training_certificate", "skill-training-certificate"),
    ):
        entry = metadata["credential_configurations_supported"][configuration_id]
        assert entry["format"] == "dc+sd-jwt"
        assert entry["vct"] == f"{base}/vct/{vct_path}"
        assert entry["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"] == ["ES256"]
        assert entry["cryptographic_binding_methods_supported"] == ["jwk"]
        type_metadata = client.get(f"/vct/{vct_path}").json()  # SD-JWT VC §6 type metadata
        assert type_metadata["vct"] == entry["vct"]
        assert {c["sd"] for c in type_metadata["claims"]} == {"always"}
    authorization_server = client.get("/.well-known/oauth-authorization-server").json()
    assert PRE_AUTH_GRANT in authorization_server["grant_types_supported"]
    assert authorization_server["pre-authorized_grant_anonymous_access_supported"] is True


def test_offer_by_reference_carries_a_pre_authorized_code_and_tx_code(
    client: TestClient, seeded: Seeded, wallet: Wallet, issuer: WalletRuntime
) -> None:
    """OpenID4VCI 1.0 §4.1.3 (offer by reference, application/json) and §4.1.1 (pre-authorized_code
    grant with a tx_code object: length, input_mode, description of at most 300 characters)."""
    offer = new_offer(client.app, seeded.technician_id)  # type: ignore[arg-type]
    assert offer.link.startswith("openid-credential-offer://?credential_offer_uri=")
    assert offer.tx_code is not None and offer.tx_code.isdigit() and len(offer.tx_code) == 6
    response = client.get(offer.offer_uri)
    assert response.headers["content-type"].startswith("application/json")
    assert "no-store" in response.headers["cache-control"]
    document = response.json()
    assert document["credential_issuer"] == issuer.config.issuer
    assert document["credential_configuration_ids"] == ["ccus_card", "skill_training_certificate"]
    grant = document["grants"][PRE_AUTH_GRANT]
    assert len(grant["pre-authorized_code"]) >= 32
    assert grant["tx_code"]["length"] == 6 and grant["tx_code"]["input_mode"] == "numeric"
    assert len(grant["tx_code"]["description"]) <= 300
    assert offer.tx_code not in response.text  # the tx_code travels by another channel


def test_card_is_an_sd_jwt_vc_with_x5c_to_the_pinned_root(
    client: TestClient, seeded: Seeded, wallet: Wallet, issuer: WalletRuntime, clock: FrozenClock
) -> None:
    """SD-JWT VC (draft-ietf-oauth-sd-jwt-vc) §3.2.1: typ ``dc+sd-jwt``; HAIP/§3.5: an ``x5c`` leaf
    (RFC 7515 §4.1.6) certified by the root verifiers pin, its URI SAN equal to ``iss``; the key is
    also published at /.well-known/jwt-vc-issuer (§5); §3.2.2.2: iss/iat/exp/vct/cnf/status in the
    clear; RFC 7800 ``cnf.jwk`` is the proof key; OpenID4VCI 1.0 §8.3 response, no-store."""
    offer = new_offer(client.app, seeded.technician_id, ["ccus_card"])  # type: ignore[arg-type]
    token = wallet.access_token(offer)
    assert token["token_type"] == "Bearer"
    assert token["authorization_details"] == [
        {
            "type": "openid_credential",
            "credential_configuration_id": "ccus_card",
            "credential_identifiers": ["ccus_card"],
        }
    ]
    nonce = wallet.nonce()
    keys, proofs = wallet.proofs(1, nonce)
    response = wallet.credential(
        token["access_token"], {"credential_identifier": "ccus_card", "proofs": {"jwt": proofs}}
    )
    assert response.status_code == 200, response.text
    assert "no-store" in response.headers["cache-control"]
    body = response.json()
    assert len(body["credentials"]) == 1 and body["notification_id"]
    credential = body["credentials"][0]["credential"]
    issuer_jwt, disclosures, kb = split_sd_jwt(credential)
    assert kb == "" and credential.endswith("~")  # RFC 9901 §4: an SD-JWT without key binding

    header, payload = jwt_parts(issuer_jwt)
    assert header["typ"] == "dc+sd-jwt" and header["alg"] == "ES256"
    assert isinstance(header["x5c"], list) and len(header["x5c"]) == 1  # the leaf only; the root is pinned

    # x5c: the leaf is signed by the root served at /wallet/root.pem and valid now.
    root = x509.load_pem_x509_certificate(client.get("/wallet/root.pem").content)
    leaf = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    root_key = root.public_key()
    assert isinstance(root_key, ec.EllipticCurvePublicKey)
    root_key.verify(leaf.signature, leaf.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    assert leaf.issuer == root.subject and root.issuer == root.subject
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert leaf.not_valid_before_utc <= clock() <= leaf.not_valid_after_utc
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [payload["iss"]]
    # The signature verifies with the leaf key, and with the key published for online resolution.
    leaf_key = ECKey.import_key(leaf.public_key())  # type: ignore[arg-type]
    jwt.decode(issuer_jwt, leaf_key, algorithms=["ES256"], registry=sdjwt.REGISTRY)
    published = client.get("/.well-known/jwt-vc-issuer").json()
    assert published["issuer"] == payload["iss"]
    [jwk] = [k for k in published["jwks"]["keys"] if k["kid"] == header["kid"]]
    jwt.decode(issuer_jwt, ECKey.import_key(jwk), algorithms=["ES256"], registry=sdjwt.REGISTRY)
    assert jwk["x"] == leaf_key.as_dict()["x"] and "d" not in jwk

    # Registered claims in the clear.
    now = int(clock().timestamp())
    assert payload["iss"] == issuer.config.issuer
    assert payload["iat"] == now
    assert payload["exp"] == now + int(VALIDITY.total_seconds())
    assert payload["vct"] == f"{issuer.config.issuer}/vct/ccus-technician-card"
    assert payload["cnf"]["jwk"] == keys[0].as_dict(private=False)
    reference = payload["status"]["status_list"]
    assert isinstance(reference["idx"], int) and reference["idx"] >= 0
    assert reference["uri"].startswith(f"{issuer.config.issuer}/wallet/status/")
    assert payload["_sd_alg"] == "sha-256"

    # Selective disclosure: every personal claim is a disclosure, nothing registered is.
    contents = [decode_disclosure(d) for d in disclosures]
    assert all(len(c) == 3 for c in contents)
    names = {c[1] for c in contents}
    assert set(CARD_PERSONAL) <= names
    assert not names & set(ALWAYS_VISIBLE)
    assert not set(CARD_PERSONAL) & set(payload)  # no personal claim in the clear
    assert set(payload) == {*ALWAYS_VISIBLE, "_sd", "_sd_alg"}
    # RFC 9901 §4.2.1 / §9.3: salts of at least 128 bits, all different.
    salts = [c[0] for c in contents]
    assert len(set(salts)) == len(salts) and all(len(base64.urlsafe_b64decode(s + "==")) >= 16 for s in salts)
    # RFC 9901 §4.2.5 decoys, and the digests sorted so their order reveals nothing (§4.2.4.1).
    digests = payload["_sd"]
    assert {_b64_digest(d) for d in disclosures} < set(digests)
    assert 1 <= len(digests) - len(disclosures) <= 5
    assert digests == sorted(digests) and len(set(digests)) == len(digests)

    claims = sdjwt.resolve(payload, disclosures)
    assert claims["technician_id"] == seeded.technician_id
    assert claims["name"] == "鈴木 一郎" and claims["name_kana"] == "スズキ イチロウ"
    assert claims["level"] == 3 and claims["level_colour"] == {"ja": "銀", "en": "silver"}
    assert claims["occupations"] == ["とび", "鉄筋"]
    assert claims["employer"] == {"employer_id": EMPLOYER_ID, "name": EMPLOYER_NAME}
    assert claims["social_insurance"] == {"health": "enrolled", "pension": "enrolled", "employment": "exempt"}
    assert claims["kentaikyo"] is True
    assert "face_photo" not in claims  # none on record: the claim is left out, not disclosed as null


def test_certificates_are_issued_one_per_credential_identifier(
    client: TestClient, seeded: Seeded, wallet: Wallet
) -> None:
    """OpenID4VCI 1.0 §6.2: ``authorization_details`` lists one ``credential_identifiers`` entry per
    Credential Dataset (imported certificate); §8.2: the request names one ``credential_identifier``."""
    offer = new_offer(client.app, seeded.technician_id)  # type: ignore[arg-type]
    token = wallet.access_token(offer)
    details = {d["credential_configuration_id"]: d["credential_identifiers"] for d in token["authorization_details"]}
    refs = [c.ref for c in seeded.certificates]
    assert details["ccus_card"] == ["ccus_card"]
    assert sorted(details["skill_training_certificate"]) == sorted(refs)
    seen = []
    for ref, cert in zip(refs, seeded.certificates, strict=True):
        _, body = wallet.issue(token["access_token"], ref)
        issuer_jwt, disclosures, _ = split_sd_jwt(body["credentials"][0]["credential"])
        _, payload = jwt_parts(issuer_jwt)
        assert payload["vct"].endswith("/vct/skill-training-certificate")
        claims = sdjwt.resolve(payload, disclosures)
        assert claims["certificate_number"] == cert.number and claims["issuing_body_id"] == cert.issuer_id
        assert claims["holder_birth_date"] == "1985-04-12"
        assert {decode_disclosure(d)[1] for d in disclosures} >= {"course_name", "holder_name", "holder_birth_date"}
        seen.append(claims["course_name"])
    assert seen == ["玉掛け技能講習", "足場の組立て等作業主任者技能講習"]  # each dataset its own credential


def test_batch_binds_each_credential_to_its_own_key_and_status_index(
    client: TestClient, seeded: Seeded, wallet: Wallet
) -> None:
    """OpenID4VCI 1.0 §8.2 ``proofs`` / §8.3 (each key binds at most one credential, one
    notification_id for the response) and draft-ietf-oauth-status-list §13 (Privacy: unlinkable
    indices): a batch gives distinct keys, status indices, salts and signatures."""
    offer = new_offer(client.app, seeded.technician_id, ["ccus_card"])  # type: ignore[arg-type]
    token = wallet.access_token(offer)
    keys, body = wallet.issue(token["access_token"], "ccus_card", batch=3)
    assert len(body["credentials"]) == 3
    payloads, disclosure_sets = [], []
    for key, item in zip(keys, body["credentials"], strict=True):
        issuer_jwt, disclosures, _ = split_sd_jwt(item["credential"])
        _, payload = jwt_parts(issuer_jwt)
        assert payload["cnf"]["jwk"] == key.as_dict(private=False)
        payloads.append(payload)
        disclosure_sets.append(set(disclosures))
    indices = {(p["status"]["status_list"]["uri"], p["status"]["status_list"]["idx"]) for p in payloads}
    assert len(indices) == 3
    assert not disclosure_sets[0] & disclosure_sets[1] and not disclosure_sets[1] & disclosure_sets[2]
    assert not set(payloads[0]["_sd"]) & set(payloads[1]["_sd"])


@pytest.mark.parametrize(("count", "error"), [(5, "invalid_credential_request"), (2, "invalid_proof")])
def test_batch_over_the_limit_or_with_a_repeated_key_is_refused(
    client: TestClient, seeded: Seeded, wallet: Wallet, issuer: WalletRuntime, count: int, error: str
) -> None:
    """OpenID4VCI 1.0 §12.2.4 ``batch_credential_issuance.batch_size`` (at most 4 proofs here) and
    §8.3 "Each key provided by the Wallet is used to bind to, at most, one Credential"."""
    offer = new_offer(client.app, seeded.technician_id, ["ccus_card"])  # type: ignore[arg-type]
    token = wallet.access_token(offer)
    nonce = wallet.nonce()
    if count > issuer.config.batch_size:
        _, proofs = wallet.proofs(count, nonce)
    else:
        _, [proof] = wallet.proofs(1, nonce)
        proofs = [proof] * count
    response = wallet.credential(
        token["access_token"], {"credential_identifier": "ccus_card", "proofs": {"jwt": proofs}}
    )
    assert response.status_code == 400 and error_of(response) == error, response.text


def test_access_token_is_not_bound_to_one_request_but_each_needs_a_fresh_nonce(
    client: TestClient, seeded: Seeded, wallet: Wallet, clock: FrozenClock
) -> None:
    """OpenID4VCI 1.0 §8 ("several consecutive Credential Requests") and §7 (each c_nonce single use):
    the same access token obtains a second credential with a new c_nonce, within its lifetime."""
    offer = new_offer(client.app, seeded.technician_id, ["ccus_card"])  # type: ignore[arg-type]
    token = wallet.access_token(offer)
    wallet.issue(token["access_token"], "ccus_card")
    clock.advance(seconds=30)
    wallet.now += 30
    _, body = wallet.issue(token["access_token"], "ccus_card")
    assert len(body["credentials"]) == 1
    assert timedelta(seconds=token["expires_in"]) > timedelta(seconds=30)


def test_an_unbound_access_token_for_credentials_is_short_lived(
    client: TestClient, seeded: Seeded, wallet: Wallet
) -> None:
    """OpenID4VCI 1.0 §13.10 (Protecting the Access Token): a Bearer (not sender-constrained) access
    token giving access to Credentials lives at most 5 minutes."""
    token = wallet.access_token(new_offer(client.app, seeded.technician_id, ["ccus_card"]))  # type: ignore[arg-type]
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] <= 300
