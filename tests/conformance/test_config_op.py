"""OpenID Foundation Config OP plan (oidcc-discovery-endpoint-verification) and RFC 8414: the discovery document
is complete, consistent with the RFC 8414 document, and every endpoint it advertises answers.

Whether what it advertises is *true* (scopes, claims, modes, methods, algorithms) is in ``test_config_op_truthful.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jws
from sqlalchemy import Engine

from tests.support.clock import FrozenClock
from tests.support.oidc import ISSUER, Client, id_token_claims, register_client, tokens
from tests.support.web import Person, build_app, make_technician

DISCOVERY = "/.well-known/openid-configuration"
PRIVATE_JWK_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
# Being written elsewhere (RP-initiated logout, dynamic registration): not tested here.
NOT_TESTED_HERE = ("end_session_endpoint", "registration_endpoint")


def _metadata(client: TestClient) -> dict[str, Any]:
    response = client.get(DISCOVERY)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def test_issuer_is_the_discovery_url_prefix(client: TestClient) -> None:
    """The issuer, with /.well-known/openid-configuration appended, is the URL the document was fetched from,
    and is an https-or-loopback URL without query or fragment. OIDC Discovery §4, §4.3 ("MUST be identical");
    RFC 8414 §2 (issuer)."""
    metadata = _metadata(client)
    assert metadata["issuer"] == ISSUER and metadata["issuer"] + DISCOVERY == f"http://localhost{DISCOVERY}"
    assert "?" not in metadata["issuer"] and "#" not in metadata["issuer"] and not metadata["issuer"].endswith("/")


def test_required_metadata(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """Required provider metadata is present: authorization_endpoint, token_endpoint, jwks_uri,
    response_types_supported with "code", subject_types_supported, id_token_signing_alg_values_supported holding the
    alg that really signs ID tokens and never "none"; scopes_supported holds openid. OIDC Discovery §3;
    OIDC Core §3.1.3.7 item 6-7."""
    metadata = _metadata(client)
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
        assert metadata[name].startswith(ISSUER + "/"), name
    assert "code" in metadata["response_types_supported"]
    assert metadata["subject_types_supported"] and set(metadata["subject_types_supported"]) <= {"public", "pairwise"}
    assert "openid" in metadata["scopes_supported"]
    algs = metadata["id_token_signing_alg_values_supported"]
    assert "none" not in algs
    body = tokens(client, app, rp, technician, nonce="n-cfg")
    used = jws.extract_compact(body["id_token"].encode()).protected["alg"]
    assert used in algs
    id_token_claims(
        client, body["id_token"], client=rp, now=clock.now, nonce="n-cfg", access_token=body["access_token"]
    )


def test_id_token_signing_algs_include_rs256(client: TestClient) -> None:
    """RS256 is mandatory to implement for ID tokens and MUST be listed in id_token_signing_alg_values_supported.
    OIDC Discovery §3; OIDC Core §15.1 ("OPs MUST support signing ID Tokens with ... RS256"); the conformance
    suite's OIDCCCheckDiscEndpointIdTokenSigningAlgValuesSupported fails without it."""
    assert "RS256" in _metadata(client)["id_token_signing_alg_values_supported"]


def test_configured_signing_alg_is_advertised_and_used(
    tmp_path: Path, db_url: str, engine: Engine, clock: FrozenClock, app: FastAPI
) -> None:
    """With GENBA_SIGNING_ALG=RS256 the advertised alg and the ID token's alg follow the setting, and the JWKS
    publishes an RSA key for it. OIDC Discovery §3; OIDC Core §10.1."""
    rs_app = build_app(tmp_path / "rs", db_url, engine, clock, signing_alg="RS256")
    with TestClient(rs_app, base_url="http://localhost") as api:
        rp = register_client(rs_app)
        person = make_technician(rs_app)
        assert _metadata(api)["id_token_signing_alg_values_supported"][0] == "RS256"  # the default comes first
        body = tokens(api, rs_app, rp, person, nonce="n-rs")
        header = jws.extract_compact(body["id_token"].encode()).protected
        assert header["alg"] == "RS256"
        assert any(k["kid"] == header["kid"] and k["kty"] == "RSA" for k in api.get("/jwks").json()["keys"])
        id_token_claims(
            api, body["id_token"], client=rp, now=clock.now, nonce="n-rs", access_token=body["access_token"]
        )


def test_jwks_keys_have_kid_and_use_and_no_private_parts(app: FastAPI, client: TestClient) -> None:
    """jwks_uri returns a JWK Set whose keys have distinct kid, use "sig", an alg, and no private or symmetric key
    material. RFC 7517 §4.2, §4.4, §4.5, §5; OIDC Core §10.1.1; RFC 7518 §6.3.2.1 (conformance suite
    EnsureServerJwksDoesNotContainPrivateOrSymmetricKeys)."""
    response = client.get(_metadata(client)["jwks_uri"].removeprefix(ISSUER))
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    keys = response.json()["keys"]
    assert keys, "the JWK Set is empty"
    assert len({k["kid"] for k in keys}) == len(keys)
    for key in keys:
        assert key["kid"] and key["use"] == "sig" and key["kty"] in ("EC", "RSA", "OKP") and key.get("alg") != "none"
        assert not set(PRIVATE_JWK_MEMBERS) & set(key), key


def test_rfc8414_document_is_consistent(client: TestClient) -> None:
    """/.well-known/oauth-authorization-server serves metadata with the same issuer and endpoints as the OpenID
    document; code_challenge_methods_supported is an array. RFC 8414 §3, §3.3 ("issuer ... MUST be identical"),
    §2; RFC 7636 §4.3."""
    response = client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    oauth, openid = response.json(), _metadata(client)
    assert oauth["issuer"] == openid["issuer"] == ISSUER
    for name, value in openid.items():
        if name.endswith("_endpoint") or name == "jwks_uri":
            assert oauth.get(name) == value, name
    assert isinstance(oauth["code_challenge_methods_supported"], list)


def test_every_advertised_endpoint_answers(client: TestClient) -> None:
    """Every endpoint in the metadata is served by the provider and answers an empty request with a protocol error
    (never 404/405/500): the authorization endpoint with an error page, token/PAR/revocation/introspection with
    JSON errors, userinfo with 401 and WWW-Authenticate. OIDC Discovery §3; RFC 6749 §5.2; RFC 6750 §3;
    RFC 9126 §2; RFC 7009 §2; RFC 7662 §2. (end_session_endpoint and registration_endpoint are left to their
    own tests.)"""
    metadata = _metadata(client)
    endpoints = {
        name: value.removeprefix(ISSUER)
        for name, value in metadata.items()
        if name.endswith("_endpoint") and name not in NOT_TESTED_HERE
    }
    for name in endpoints:
        assert metadata[name].startswith(ISSUER + "/"), name
    assert client.get(metadata["jwks_uri"].removeprefix(ISSUER)).status_code == 200
    assert client.get(metadata["service_documentation"].removeprefix(ISSUER), follow_redirects=True).status_code == 200
    page = client.get(endpoints.pop("authorization_endpoint"), follow_redirects=False)
    assert page.status_code == 400 and "oauth-error" in page.text
    userinfo = client.get(endpoints.pop("userinfo_endpoint"))
    assert userinfo.status_code == 401 and "www-authenticate" in userinfo.headers
    token = client.post(endpoints.pop("token_endpoint"), data={"grant_type": "authorization_code"})
    assert token.status_code in (400, 401) and token.json()["error"] in ("invalid_request", "invalid_client")
    for name, path in endpoints.items():  # PAR, revocation, introspection: client authentication first
        response = client.post(path, data={"token": "x", "response_type": "code"})
        assert response.status_code in (400, 401), (name, response.status_code)
        assert response.json()["error"] in ("invalid_client", "invalid_request"), (name, response.text)
    assert set(endpoints) == {
        "pushed_authorization_request_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
    }


def test_no_none_alg_and_no_implicit_response_type_is_advertised(client: TestClient) -> None:
    """Nothing unsupported or unsafe is advertised: no "none" in any *_alg_values_supported, response types only
    "code" (no implicit or hybrid), no "implicit" or "password" grant, no "plain" PKCE, response modes only
    query and form_post. OIDC Discovery §3; RFC 9700 §2.1.2 (no implicit), §2.4 (no password grant), §2.1.1."""
    metadata = _metadata(client)
    for name, value in metadata.items():
        if name.endswith("_alg_values_supported"):
            assert "none" not in value, name
    assert metadata["response_types_supported"] == ["code"]
    assert not {"implicit", "password"} & set(metadata["grant_types_supported"])
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert set(metadata["response_modes_supported"]) == {"query", "form_post"}
    assert metadata["authorization_response_iss_parameter_supported"] is True
