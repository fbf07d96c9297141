"""Discovery is truthful: every scope, claim, response mode, client authentication method, grant type and
algorithm the provider advertises works, and what it does not support is refused (OIDC Discovery §3: the
metadata lists what the OP *supports*; RFC 8414 §2)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey

from tests.support.attestation import TEST_PROVIDER, headers, pop
from tests.support.clock import FrozenClock
from tests.support.oidc import (
    ISSUER,
    REDIRECT,
    Client,
    authorize_url,
    client_key,
    code_flow,
    dpop_proof,
    employ,
    exchange,
    make_staff,
    new_key,
    pkce,
    post_token,
    private_key_jwt,
    register_client,
    run_flow,
    signed_jwt,
    token_request,
    tokens,
)
from tests.support.web import Person, make_technician

pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")  # joserfc's notice; RPs still use "EdDSA"


def _metadata(client: TestClient) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/.well-known/openid-configuration").json()
    return body


def _attestation(client_id: str, clock: FrozenClock) -> dict[str, str]:
    """The trusted provider's attestation of a new wallet instance, with its proof for this server."""
    instance, now = ECKey.generate_key("P-256"), int(clock().timestamp())
    attestation = TEST_PROVIDER.attest(client_id, instance, now=now)
    return headers(attestation, pop(instance, client_id=client_id, audience=ISSUER, now=now))


def _unverified(token: str) -> dict[str, Any]:
    """The payload of a JWT whose signature other tests verify."""
    segment = token.split(".")[1]
    value: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return value


def test_advertised_scopes_are_granted(app: FastAPI, client: TestClient, rp: Client, technician: Person) -> None:
    """Every value of scopes_supported can be requested and is granted to a client registered for it; offline_access
    yields a refresh token. OIDC Discovery §3 (scopes_supported); OIDC Core §5.4, §11."""
    scopes = _metadata(client)["scopes_supported"]
    body = tokens(client, app, rp, technician, scope=" ".join(scopes))
    assert set(body["scope"].split()) == set(scopes)
    assert body["refresh_token"] and body["id_token"]


def test_advertised_claims_are_delivered(app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client) -> None:
    """Every claim in claims_supported is delivered in an ID token or at UserInfo to a client that asks for all
    scopes (a technician and an e-mail-holding staff member between them). OIDC Discovery §3 (claims_supported)."""
    delivered: set[str] = set()
    standard = "openid profile email address phone"
    # ccus / ccus_withheld answer the ccus.* scopes, which only a technician can grant (issue 4, item 5);
    # the technician works for the company whose own system the rp is (conftest), so his claims leave
    technician = make_technician(app)
    employ(app, "10000000000019")
    for person, scope in ((technician, standard + " ccus.qualifications"), (make_staff(app), standard)):
        client.cookies.clear()
        body = tokens(client, app, rp, person, scope=scope, nonce="n-all")
        delivered |= set(_unverified(body["id_token"]))
        delivered |= set(client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}).json())
        clock.advance(seconds=40)
    missing = set(_metadata(client)["claims_supported"]) - delivered
    assert not missing, f"advertised but never delivered: {sorted(missing)}"


def test_advertised_response_modes_work_and_others_are_refused(
    app: FastAPI, client: TestClient, rp: Client, technician: Person
) -> None:
    """response_mode=query redirects, form_post answers with an auto-submitted form to the redirect URI (with iss,
    and a CSP whose form-action allows exactly the client's origin); fragment, not advertised, is refused.
    OAuth 2.0 Multiple Response Types §2.1; OAuth 2.0 Form Post Response Mode §2; RFC 9207 §2."""
    assert _metadata(client)["response_modes_supported"] == ["query", "form_post"]
    query, _ = code_flow(client, app, rp, technician, response_mode="query", state="st-q")
    assert query.location and query.location.startswith(REDIRECT + "?") and query.params["state"] == "st-q"
    response = client.get(authorize_url(rp, response_mode="form_post", state="st-fp"), follow_redirects=False)
    assert (
        response.status_code == 200
        and "form-action https://rp.example.jp;" in response.headers["content-security-policy"]
    )
    form = run_flow(client, app, authorize_url(rp, response_mode="form_post", state="st-fp"))
    assert form.form_post and form.location == REDIRECT
    assert form.params["state"] == "st-fp" and form.params["iss"] == ISSUER and form.params["code"]
    fragment = run_flow(client, app, authorize_url(rp, response_mode="fragment", state="st-fr"))
    assert fragment.params["error"] == "invalid_request" and "code" not in fragment.params
    assert fragment.location is not None and "#" not in fragment.location


def test_only_the_code_response_type_is_accepted(
    app: FastAPI, client: TestClient, rp: Client, technician: Person
) -> None:
    """Only "code" is advertised, and implicit/hybrid response types are refused with unsupported_response_type
    (no token or ID token ever leaves through the front channel). OIDC Core §3.1.2.6; RFC 6749 §4.1.2.1;
    RFC 9700 §2.1.2."""
    code_flow(client, app, rp, technician)  # signed in, so refusals are not caused by a missing session
    for response_type in ("token", "id_token", "id_token token", "code id_token", "code token", "none"):
        flow = run_flow(client, app, authorize_url(rp, response_type=response_type, nonce="n"))
        assert flow.params.get("error") == "unsupported_response_type", (response_type, flow.params)
        assert not {"code", "access_token", "id_token"} & set(flow.params)


def test_advertised_token_endpoint_auth_methods_work(
    app: FastAPI, client: TestClient, technician: Person, clock: FrozenClock
) -> None:
    """Each of token_endpoint_auth_methods_supported works for a client registered with it: client_secret_basic,
    client_secret_post, private_key_jwt (ES256, an advertised signing alg), none (public client with PKCE) and
    attest_jwt_client_auth (a public client with an attestation from a trusted wallet provider).
    OIDC Core §9; RFC 6749 §2.3.1; RFC 7523 §2.2; draft-ietf-oauth-attestation-based-client-auth §13.2."""
    metadata = _metadata(client)
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {
        "attest_jwt_client_auth",
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    }
    assert "ES256" in metadata["token_endpoint_auth_signing_alg_values_supported"]
    key, jwks = client_key()
    for method in metadata["token_endpoint_auth_methods_supported"]:
        kwargs: dict[str, Any] = {"token_endpoint_auth_method": method}
        if method in ("none", "attest_jwt_client_auth"):
            kwargs["client_type"] = "public"
        if method == "private_key_jwt":
            kwargs["jwks"] = jwks
        rp = register_client(app, **kwargs)
        flow, verifier = code_flow(client, app, rp, technician)
        if method == "attest_jwt_client_auth":
            without = exchange(client, rp, flow.code, verifier)
            assert without.json()["error"] == "invalid_client", without.text  # it must attest (RFC 6749 §3.2.1)
            flow, verifier = code_flow(client, app, rp, technician)
            form = {"grant_type": "authorization_code", "code": flow.code, "redirect_uri": rp.redirect_uri}
            response = post_token(client, rp, {**form, "code_verifier": verifier}, _attestation(rp.client_id, clock))
        else:
            extra = private_key_jwt(key, rp.client_id) if method == "private_key_jwt" else {}
            response = exchange(client, rp, flow.code, verifier, **extra)
        assert response.status_code == 200, (method, response.text)


def test_advertised_grant_types_work(app: FastAPI, client: TestClient, rp: Client, technician: Person) -> None:
    """authorization_code, refresh_token and client_credentials all work; client_credentials gives an access token
    about the client itself, without refresh or ID token. RFC 6749 §4.4, §6; RFC 9068 §2.2."""
    # The OpenID4VCI pre-authorized code grant is advertised too; the wallet tests exercise it.
    assert _metadata(client)["grant_types_supported"] == [
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:pre-authorized_code",
    ]
    service = register_client(app, grant_types=["client_credentials"], redirect_uris=[], scope="openid")
    response = token_request(client, service, grant_type="client_credentials")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and "refresh_token" not in body and "id_token" not in body
    assert _unverified(body["access_token"])["sub"] == service.client_id
    first = tokens(client, app, rp, technician)
    refreshed = token_request(client, rp, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text


def test_advertised_request_object_algs_work(
    app: FastAPI, client: TestClient, clock: FrozenClock, technician: Person
) -> None:
    """A request object signed with each alg of request_object_signing_alg_values_supported, by a key of the
    client's registered jwks, is accepted and its parameters used. OIDC Discovery §3; OIDC Core §6.1, §6.3.2;
    exp and nbf as FAPI 2.0 Message Signing §5.3.1 requires of every signed request object."""
    now = int(clock.now.timestamp())
    for alg in _metadata(client)["request_object_signing_alg_values_supported"]:
        key, jwks = client_key(alg=alg)
        rp = register_client(app, jwks=jwks)
        _, challenge = pkce()
        claims = {
            "iss": rp.client_id,
            "aud": ISSUER,
            "response_type": "code",
            "client_id": rp.client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid",
            "state": f"st-{alg}",
            "nbf": now,
            "exp": now + 300,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        url = authorize_url(rp, state=None, request=signed_jwt(key, claims, alg=alg))
        flow = run_flow(client, app, url, person=technician)
        assert flow.params.get("state") == f"st-{alg}" and "code" in flow.params, (alg, flow.params, flow.body[:200])


def _dpop_token(client: TestClient, service: Client, alg: str, clock: FrozenClock) -> Any:
    proof = dpop_proof(new_key(alg), "POST", ISSUER + "/token", now=clock.now, alg=alg)
    return post_token(client, service, {"grant_type": "client_credentials"}, {"DPoP": proof})


def test_advertised_dpop_algs_work(app: FastAPI, client: TestClient, clock: FrozenClock) -> None:
    """A DPoP proof signed with each alg of dpop_signing_alg_values_supported gets a DPoP-bound token.
    RFC 9449 §5.1 (metadata "supported by the authorization server for DPoP proof JWTs"), §4.3, §5."""
    service = register_client(app, grant_types=["client_credentials"], redirect_uris=[], scope="openid")
    refused = {}
    for alg in _metadata(client)["dpop_signing_alg_values_supported"]:
        response = _dpop_token(client, service, alg, clock)
        if response.status_code != 200:
            refused[alg] = response.json()
    assert not refused


def test_dpop_proofs_with_ec_and_okp_keys_work(app: FastAPI, client: TestClient, clock: FrozenClock) -> None:
    """ES256, ES384 and EdDSA DPoP proofs (advertised) get DPoP-bound tokens with cnf.jkt. RFC 9449 §4.3, §5, §6.1."""
    service = register_client(app, grant_types=["client_credentials"], redirect_uris=[], scope="openid")
    for alg in ("ES256", "ES384", "EdDSA"):
        assert alg in _metadata(client)["dpop_signing_alg_values_supported"]
        response = _dpop_token(client, service, alg, clock)
        assert response.status_code == 200, (alg, response.text)
        assert response.json()["token_type"] == "DPoP" and "jkt" in _unverified(response.json()["access_token"])["cnf"]


def test_advertised_subject_types_work(app: FastAPI, client: TestClient, technician: Person) -> None:
    """public gives every client the same sub; pairwise gives a sector its own stable sub, different from other
    sectors'. OIDC Core §8, §8.1; OIDC Discovery §3 (subject_types_supported)."""
    assert set(_metadata(client)["subject_types_supported"]) == {"public", "pairwise"}
    subs: dict[str, list[str]] = {}
    clients = {
        "public": register_client(app),
        "pairwise-a": register_client(app, subject_type="pairwise"),
        "pairwise-b": register_client(app, subject_type="pairwise", redirect_uris=["https://other.example.jp/cb"]),
    }
    for _ in range(2):
        for name, rp in clients.items():
            subs.setdefault(name, []).append(_unverified(tokens(client, app, rp, technician)["id_token"])["sub"])
    assert all(len(set(values)) == 1 for values in subs.values()), subs  # stable
    assert len({values[0] for values in subs.values()}) == 3, subs  # distinct per sector


def test_request_uri_is_only_supported_through_par(
    app: FastAPI, client: TestClient, rp: Client, technician: Person
) -> None:
    """request_uri_parameter_supported is false: a client-hosted request_uri gets request_uri_not_supported; the
    advertised PAR endpoint's request_uri works once. OIDC Core §6.2, §3.1.2.6; RFC 9126 §2, §4."""
    metadata = _metadata(client)
    assert metadata["request_uri_parameter_supported"] is False
    refused = run_flow(
        client, app, authorize_url(rp, request_uri="https://rp.example.jp/request.jwt"), person=technician
    )
    assert refused.params["error"] == "request_uri_not_supported"
    verifier, challenge = pkce()
    form = {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "state": "st-par",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    pushed = client.post("/par", data=form, auth=(rp.client_id, rp.client_secret or ""))
    assert pushed.status_code == 201, pushed.text
    url = authorize_url(
        rp, response_type=None, redirect_uri=None, scope=None, state=None, request_uri=pushed.json()["request_uri"]
    )
    flow = run_flow(client, app, url, person=technician)
    assert flow.params["state"] == "st-par" and exchange(client, rp, flow.code, verifier).status_code == 200
    again = run_flow(client, app, url, person=technician)  # one-time use; no trusted redirect_uri: an error page
    assert again.status == 400 and 'id="oauth-error">invalid_request_uri<' in again.body and not again.params


def test_claims_parameter_reaches_the_id_token(app: FastAPI, client: TestClient, rp: Client) -> None:
    """claims_parameter_supported is true: a claim requested for the ID token (within the granted scope) is in it.
    OIDC Core §5.5; OIDC Discovery §3."""
    staff = make_staff(app)
    claims = json.dumps({"id_token": {"email": None, "name": {"essential": True}}})
    body = tokens(client, app, rp, staff, scope="openid email profile", claims=claims)
    payload = _unverified(body["id_token"])
    assert payload["email"] == "tanaka@example.co.jp" and payload["name"] == "田中 花子"


def test_advertised_ui_locales_work(client: TestClient, rp: Client) -> None:
    """Each of ui_locales_supported selects that language for the provider's pages. OIDC Core §3.1.2.1;
    OIDC Discovery §3 (ui_locales_supported)."""
    for lang in _metadata(client)["ui_locales_supported"]:
        page = client.get(authorize_url(rp, ui_locales=lang), follow_redirects=True)
        assert page.status_code == 200 and f'<html lang="{lang}">' in page.text


def test_revocation_and_introspection_work(app: FastAPI, client: TestClient, rp: Client, technician: Person) -> None:
    """The advertised revocation and introspection endpoints work with the client's method: a token is active,
    then revoked, then inactive (and its grant's access tokens too). RFC 7662 §2.2; RFC 7009 §2.1, §2.2."""
    body = tokens(client, app, rp, technician)
    auth = (rp.client_id, rp.client_secret or "")
    active = client.post("/introspect", data={"token": body["access_token"]}, auth=auth).json()
    assert active["active"] is True and active["client_id"] == rp.client_id
    assert client.post("/revoke", data={"token": body["refresh_token"]}, auth=auth).status_code == 200
    for token in (body["refresh_token"], body["access_token"]):
        assert client.post("/introspect", data={"token": token}, auth=auth).json() == {"active": False}
    assert active["iss"] == ISSUER


def test_introspection_ignores_a_token_type_hint_it_does_not_know(
    app: FastAPI, client: TestClient, rp: Client, technician: Person
) -> None:
    """RFC 7662 §2.1: ``token_type_hint`` is a hint; a value the server does not know does not make the request
    fail (``unsupported_token_type`` is RFC 7009's, for revocation): the token is looked up as any other, and
    a wrong known hint is extended to every type too."""
    body = tokens(client, app, rp, technician)
    auth = (rp.client_id, rp.client_secret or "")
    for hint in ("urn:example:no-such-type", "refresh_token"):
        answer = client.post("/introspect", data={"token": body["access_token"], "token_type_hint": hint}, auth=auth)
        assert answer.status_code == 200, answer.text
        assert answer.json()["active"] is True


def _challenge_algs(header: str) -> set[str]:
    dpop = header[header.index("DPoP") :]
    return set(dpop.split('algs="', 1)[1].split('"', 1)[0].split())


def test_userinfo_dpop_challenge_lists_the_supported_algs(
    app: FastAPI, client: TestClient, clock: FrozenClock, rp: Client, technician: Person
) -> None:
    """RFC 9449 §7.1 (WWW-Authenticate ``algs``: "the JWS alg values that the resource server supports"): UserInfo
    accepts the same proof algs as the token endpoint (one verifier), so every DPoP challenge it sends lists exactly
    dpop_signing_alg_values_supported."""
    advertised = set(_metadata(client)["dpop_signing_alg_values_supported"])
    no_token = client.get("/userinfo")
    key = new_key("ES256")
    flow, verifier = code_flow(client, app, rp, technician)
    form = {"grant_type": "authorization_code", "code": flow.code, "redirect_uri": REDIRECT, "code_verifier": verifier}
    token = post_token(client, rp, form, {"DPoP": dpop_proof(key, "POST", ISSUER + "/token", now=clock.now)}).json()
    stale = dpop_proof(key, "GET", ISSUER + "/userinfo", now=clock.now, access_token=token["access_token"], iat=1)
    bad_proof = client.get("/userinfo", headers={"Authorization": f"DPoP {token['access_token']}", "DPoP": stale})
    assert no_token.status_code == bad_proof.status_code == 401
    assert bad_proof.json()["error"] == "invalid_dpop_proof"
    challenges = {_frozen(_challenge_algs(r.headers["www-authenticate"])) for r in (no_token, bad_proof)}
    assert challenges == {_frozen(advertised)}, challenges


def _frozen(values: set[str]) -> tuple[str, ...]:
    return tuple(sorted(values))
