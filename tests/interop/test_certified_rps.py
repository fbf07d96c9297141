"""Interoperability with certified relying-party libraries, against a real server process.

The relying party is played by the npm packages ``openid-client`` v6 and ``oauth4webapi`` v3 (both
OpenID Certified, by panva) in Node.js, used the way their documentation shows; the user's browser
(sign-in with password + TOTP, consent) is httpx in this process. Whatever the libraries check —
issuer, ``iss`` and ``state`` of the authorization response, PKCE, ID token claims and signature,
``sub`` of userinfo, token response shape — is checked for real: a step the library refuses fails
the test with the library's error.

Every flow uses its own technician (a TOTP code is accepted once per 30-second step per account).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.interop.conftest import EMPLOYER_ID, REDIRECT_URI
from tests.interop.harness import (
    Authorized,
    NodeRP,
    NodeToolchain,
    RPRefused,
    Technician,
    authorize_in_browser,
    generate_key_files,
)
from tests.support.server import LiveServer, running_server

pytestmark = pytest.mark.e2e

SCOPE = "openid profile phone"
PHONE = "090-1234-5678"  # LiveServer.create_technician's default


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def _sign_in(
    rp: NodeRP, server: LiveServer, person: Technician, *, scope: str = SCOPE, decision: str = "approve", **begin: Any
) -> tuple[dict[str, Any], Authorized]:
    """The RP builds the authorization request; the browser signs in and answers the consent page."""
    begun = rp.call("begin", redirect_uri=rp.redirect_uri, scope=scope, **begin)
    authorized = authorize_in_browser(
        server, begun["authorization_url"], redirect_uri=rp.redirect_uri, person=person, decision=decision
    )
    assert authorized.pages == ["login", "otp", "consent"], authorized.pages
    assert authorized.consent_scopes == scope.split(), authorized.consent_scopes
    return begun, authorized


def _code_flow(rp: NodeRP, server: LiveServer, person: Technician, **begin: Any) -> dict[str, Any]:
    """Sign in, approve, and let the library process the callback; its tokens and validated ID token claims."""
    begun, authorized = _sign_in(rp, server, person, **begin)
    result = rp.call("callback", callback_url=authorized.callback_url, checks=begun["checks"])
    result["checks"] = begun["checks"]
    result["callback"] = authorized.params
    return result


@pytest.mark.parametrize("algorithm", ["oidc", "oauth2"])
def test_discovery(rp: NodeRP, live_server: LiveServer, algorithm: str) -> None:
    """OIDC Discovery 1.0 §4 (``/.well-known/openid-configuration``, algorithm ``oidc``) and RFC 8414
    §3 (``/.well-known/oauth-authorization-server``, algorithm ``oauth2``) with a certified RP
    (openid-client v6 / oauth4webapi v3): the library's discovery accepts the provider metadata —
    ``issuer`` identical to the issuer asked for (OIDC Discovery §4.3, RFC 8414 §3.3) — and sees every
    endpoint and capability the other tests rely on."""
    metadata = rp.call("discover", discovery_algorithm=algorithm)["metadata"]

    issuer = live_server.base_url
    assert metadata["issuer"] == issuer
    for name, path in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("jwks_uri", "/jwks"),
        ("pushed_authorization_request_endpoint", "/par"),
        ("revocation_endpoint", "/revoke"),
        ("introspection_endpoint", "/introspect"),
    ]:
        assert metadata[name] == issuer + path, (name, metadata.get(name))
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert {"client_secret_basic", "client_secret_post", "private_key_jwt"} <= set(
        metadata["token_endpoint_auth_methods_supported"]
    )
    assert "ES256" in metadata["dpop_signing_alg_values_supported"]
    assert set(SCOPE.split()) <= set(metadata["scopes_supported"])


def test_code_flow_with_pkce_sign_in_consent_and_userinfo(
    rp: NodeRP, live_server: LiveServer, make_technician: Callable[..., Technician]
) -> None:
    """OIDC Core §3.1 authorization code flow with a certified RP (openid-client v6 / oauth4webapi v3):
    PKCE S256 (RFC 7636), state and nonce; the user signs in with password + TOTP and approves the
    consent page; the library validates the authorization response (``state``, ``iss`` per RFC 9207),
    exchanges the code with client_secret_basic (openid-client) or client_secret_post (oauth4webapi),
    validates the ID token (§3.1.3.7, signature checked against ``jwks_uri``); UserInfo (§5.3) returns
    the technician's Japanese claims for the same ``sub``."""
    person = make_technician(name="山田 太郎", kana="ヤマダ タロウ")
    begun, authorized = _sign_in(rp, live_server, person)

    request = _query(begun["authorization_url"])
    assert request["code_challenge_method"] == ["S256"] and request["code_challenge"][0]
    assert request["state"] == [begun["checks"]["state"]] and request["nonce"] == [begun["checks"]["nonce"]]
    assert "code_verifier" not in request
    assert authorized.params["iss"] == live_server.base_url
    assert authorized.params["state"] == begun["checks"]["state"]

    result = rp.call("callback", callback_url=authorized.callback_url, checks=begun["checks"])
    tokens, claims = result["tokens"], result["id_token_claims"]
    assert tokens["token_type"] == "bearer"  # both libraries lower-case it
    assert tokens["access_token"] and tokens["refresh_token"] and tokens["id_token"]
    assert set(tokens["scope"].split()) == set(SCOPE.split())
    assert claims["iss"] == live_server.base_url
    assert claims["aud"] in (rp.client_id, [rp.client_id])
    assert claims["nonce"] == begun["checks"]["nonce"]
    assert {"pwd", "otp"} <= set(claims["amr"]), claims
    assert isinstance(claims["auth_time"], int)

    userinfo = rp.call("userinfo", access_token=tokens["access_token"], expected_sub=claims["sub"])["userinfo"]
    assert userinfo["sub"] == claims["sub"]
    assert userinfo["name"] == "山田 太郎"
    assert userinfo["family_name"] == "山田" and userinfo["given_name"] == "太郎"
    assert userinfo["name#ja-Kana-JP"] == "ヤマダ タロウ"
    assert userinfo["phone_number"] == PHONE
    assert "address" not in userinfo  # the address scope was not asked for


def test_refresh_rotates_and_keeps_the_subject(
    rp: NodeRP, live_server: LiveServer, make_technician: Callable[..., Technician]
) -> None:
    """RFC 6749 §6 and OIDC Core §12 refresh with a certified RP (openid-client v6 / oauth4webapi v3):
    the library validates the refresh response and its new ID token; the ID token keeps ``iss``,
    ``sub``, ``aud`` and ``auth_time`` and carries no ``nonce`` (§12.2); the refresh token is rotated
    (RFC 9700 §4.14.2) and the new access token works at UserInfo."""
    person = make_technician(name="佐藤 花子", kana="サトウ ハナコ", gender="female")
    first = _code_flow(rp, live_server, person)
    old = first["tokens"]

    refreshed = rp.call("refresh", refresh_token=old["refresh_token"])
    new, claims = refreshed["tokens"], refreshed["id_token_claims"]

    assert new["token_type"] == "bearer"
    assert new["access_token"] != old["access_token"]
    assert new["refresh_token"] and new["refresh_token"] != old["refresh_token"]
    assert set(new["scope"].split()) == set(SCOPE.split())
    original = first["id_token_claims"]
    assert claims is not None, "a refresh with the openid scope returns an ID token"
    for name in ("iss", "sub", "aud", "auth_time"):
        assert claims[name] == original[name], name
    assert "nonce" not in claims
    userinfo = rp.call("userinfo", access_token=new["access_token"], expected_sub=original["sub"])["userinfo"]
    assert userinfo["name"] == "佐藤 花子"


def test_introspection_and_revocation(
    rp: NodeRP, live_server: LiveServer, make_technician: Callable[..., Technician]
) -> None:
    """RFC 7662 introspection and RFC 7009 revocation with a certified RP (openid-client v6 /
    oauth4webapi v3): live tokens introspect as active with client_id, sub and scope; a revoked
    access token introspects as ``active: false`` and UserInfo refuses it (RFC 6750 §3.1
    invalid_token); a revoked refresh token introspects as ``active: false`` and cannot be used."""
    person = make_technician(name="田中 健", kana="タナカ ケン")
    result = _code_flow(rp, live_server, person)
    tokens, sub = result["tokens"], result["id_token_claims"]["sub"]

    access = rp.call("introspect", token=tokens["access_token"], token_type_hint="access_token")["introspection"]
    assert access["active"] is True
    assert access["client_id"] == rp.client_id and access["sub"] == sub
    assert access["token_type"] == "Bearer" and access["iss"] == live_server.base_url
    assert set(access["scope"].split()) == set(SCOPE.split())
    refresh = rp.call("introspect", token=tokens["refresh_token"], token_type_hint="refresh_token")["introspection"]
    assert refresh["active"] is True and refresh["client_id"] == rp.client_id

    assert rp.call("revoke", token=tokens["access_token"], token_type_hint="access_token") == {"revoked": True}
    assert rp.call("introspect", token=tokens["access_token"])["introspection"] == {"active": False}
    refused = rp.refused("userinfo", access_token=tokens["access_token"], expected_sub=sub)
    assert refused["status"] == 401, refused
    assert refused["cause"][0]["parameters"]["error"] == "invalid_token", refused

    assert rp.call("revoke", token=tokens["refresh_token"], token_type_hint="refresh_token") == {"revoked": True}
    assert rp.call("introspect", token=tokens["refresh_token"])["introspection"] == {"active": False}
    refused = rp.refused("refresh", refresh_token=tokens["refresh_token"])
    assert refused["error"] == "invalid_grant", refused


def test_public_client_code_flow_and_refresh(
    library: str,
    node_toolchain: NodeToolchain,
    live_server: LiveServer,
    make_technician: Callable[..., Technician],
) -> None:
    """RFC 8252 native-app profile with a certified RP (openid-client v6 / oauth4webapi v3): a public
    client (``genba admin create-client --public``, token_endpoint_auth_method ``none``) on a loopback
    redirect URI completes the code flow with PKCE S256 as its only proof (RFC 7636, RFC 9700 §2.1.1),
    refreshes, and revokes its refresh token (RFC 7009 §2.1: public clients may revoke their tokens)."""
    redirect_uri = "http://127.0.0.1/callback"
    created = live_server.create_client(name=f"{library} ネイティブアプリ", redirect_uris=[redirect_uri], public=True)
    assert created["token_endpoint_auth_method"] == "none" and "client_secret" not in created, created
    rp = NodeRP(
        toolchain=node_toolchain,
        library=library,
        issuer=live_server.base_url,
        client_id=created["client_id"],
        client_auth={"method": "none"},
        redirect_uri=redirect_uri,
    )
    scope = "openid profile offline_access"
    result = _code_flow(rp, live_server, make_technician(name="小川 直樹", kana="オガワ ナオキ"), scope=scope)
    tokens = result["tokens"]
    assert tokens["token_type"] == "bearer" and tokens["refresh_token"]
    assert result["id_token_claims"]["aud"] in (rp.client_id, [rp.client_id])

    refreshed = rp.call("refresh", refresh_token=tokens["refresh_token"])
    assert refreshed["id_token_claims"]["sub"] == result["id_token_claims"]["sub"]
    assert rp.call("revoke", token=refreshed["tokens"]["refresh_token"]) == {"revoked": True}
    refused = rp.refused("refresh", refresh_token=refreshed["tokens"]["refresh_token"])
    assert refused["error"] == "invalid_grant", refused


class TokenSurvivedRevocation(AssertionError):
    """The provider answered 200 to a revocation but the token is still active."""


def test_revocation_with_a_wrong_token_type_hint_still_revokes(
    rp: NodeRP, live_server: LiveServer, make_technician: Callable[..., Technician]
) -> None:
    """RFC 7009 §2.1 with a certified RP (openid-client v6 / oauth4webapi v3): ``token_type_hint`` is
    only a hint — a refresh token revoked with ``token_type_hint=access_token`` must still be revoked."""
    person = make_technician(name="高橋 誠", kana="タカハシ マコト")
    tokens = _code_flow(rp, live_server, person)["tokens"]

    assert rp.call("revoke", token=tokens["refresh_token"], token_type_hint="access_token") == {"revoked": True}

    after = rp.call("introspect", token=tokens["refresh_token"], token_type_hint="refresh_token")["introspection"]
    if after != {"active": False}:
        raise TokenSurvivedRevocation(f"the refresh token is still usable after its revocation: {after}")


def test_consent_denied_reaches_the_rp_as_access_denied(
    rp: NodeRP, live_server: LiveServer, make_technician: Callable[..., Technician]
) -> None:
    """OIDC Core §3.1.2.6 and RFC 6749 §4.1.2.1 with a certified RP (openid-client v6 / oauth4webapi v3):
    when the user denies consent the library receives ``error=access_denied`` in an authorization
    response whose ``iss`` (RFC 9207) and ``state`` it accepts, and no code."""
    person = make_technician(name="伊藤 翔", kana="イトウ ショウ")
    begun, authorized = _sign_in(rp, live_server, person, decision="deny")
    assert "code" not in authorized.params

    error = rp.refused("callback", callback_url=authorized.callback_url, checks=begun["checks"])

    assert error["name"] == "AuthorizationResponseError", error
    assert error["error"] == "access_denied", error


@pytest.mark.parametrize("library", ["oauth4webapi"], indirect=True)
def test_access_token_is_an_rfc9068_jwt_a_resource_server_accepts(
    rp: NodeRP, live_server: LiveServer, make_technician: Callable[..., Technician]
) -> None:
    """RFC 9068 §2 and §4 with oauth4webapi v3's resource-server validator (``validateJwtAccessToken``):
    the access token is a JWT with ``typ: at+jwt`` signed by a key in ``jwks_uri``, with iss, exp,
    aud, sub, client_id, iat and jti; its ``aud`` names the resource servers it is for (RFC 8707),
    the data API and userinfo, and a resource server that expects another audience refuses it."""
    result = _code_flow(rp, live_server, make_technician(name="渡辺 光", kana="ワタナベ ヒカル"))
    access_token = result["tokens"]["access_token"]

    claims = rp.call("validate_access_token", access_token=access_token, audience=live_server.url("/api/v1"))["claims"]
    with pytest.raises(RPRefused):
        rp.call("validate_access_token", access_token=access_token, audience=rp.client_id)

    assert claims["iss"] == live_server.base_url
    assert claims["client_id"] == rp.client_id
    assert claims["sub"] == result["id_token_claims"]["sub"]
    assert set(claims["scope"].split()) == set(SCOPE.split())
    assert set(claims["aud"]) == {live_server.url("/api/v1"), live_server.url("/userinfo")}
    assert claims["genba_kind"] == "user"


def test_par_private_key_jwt_and_dpop(
    library: str,
    node_toolchain: NodeToolchain,
    live_server: LiveServer,
    make_technician: Callable[..., Technician],
    tmp_path: Path,
) -> None:
    """RFC 9126 PAR + OIDC Core §9 private_key_jwt + RFC 9449 DPoP with a certified RP (openid-client v6
    / oauth4webapi v3): the client's ES256 key pair is generated in Node and its public JWKS registered
    with ``genba admin create-client --jwks @file --require-par --require-dpop``; the pushed request
    carries a DPoP proof (binding the code to the key, RFC 9449 §10) and returns a ``request_uri``, so
    the front channel carries only client_id and request_uri; the code is exchanged with a DPoP proof
    for a DPoP-bound token (``cnf.jkt`` is the key's thumbprint, RFC 9449 §6); UserInfo accepts it
    with a proof (§7) and refuses it as a plain Bearer token; refresh keeps the binding."""
    client_key, jwks_file, dpop_key = tmp_path / "client.jwk.json", tmp_path / "jwks.json", tmp_path / "dpop.jwk.json"
    generate_key_files(node_toolchain, private_path=client_key, jwks_path=jwks_file)
    jkt = generate_key_files(node_toolchain, private_path=dpop_key)
    assert "d" not in json.loads(jwks_file.read_text())["keys"][0]
    created = live_server.create_client(
        name=f"{library} PAR・DPoP",
        redirect_uris=[REDIRECT_URI],
        auth_method="private_key_jwt",
        jwks=f"@{jwks_file}",
        require_par=True,
        require_dpop=True,
        owner_employer_id=EMPLOYER_ID,  # the employer's own system reads its technician's name
    )
    assert created["require_par"] and created["require_dpop"] and "client_secret" not in created, created
    rp = NodeRP(
        toolchain=node_toolchain,
        library=library,
        issuer=live_server.base_url,
        client_id=created["client_id"],
        client_auth={"method": "private_key_jwt", "private_key_file": str(client_key)},
        redirect_uri=REDIRECT_URI,
        dpop_key_file=dpop_key,
    )
    person = make_technician(name="中村 優", kana="ナカムラ ユウ")

    begun, authorized = _sign_in(rp, live_server, person, par=True)
    assert set(_query(begun["authorization_url"])) == {"client_id", "request_uri"}
    assert _query(begun["authorization_url"])["request_uri"][0].startswith("urn:ietf:params:oauth:request_uri:")
    assert authorized.params["state"] == begun["checks"]["state"]

    result = rp.call("callback", callback_url=authorized.callback_url, checks=begun["checks"])
    tokens, sub = result["tokens"], result["id_token_claims"]["sub"]
    assert tokens["token_type"] == "dpop"
    assert result["id_token_claims"]["nonce"] == begun["checks"]["nonce"]

    introspected = rp.call("introspect", token=tokens["access_token"])["introspection"]
    assert introspected["active"] is True and introspected["token_type"] == "DPoP"
    assert introspected["cnf"] == {"jkt": jkt}

    userinfo = rp.call("userinfo", access_token=tokens["access_token"], expected_sub=sub)["userinfo"]
    assert userinfo["sub"] == sub and userinfo["name"] == "中村 優"
    as_bearer = httpx.get(
        live_server.url("/userinfo"), headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=30
    )
    assert as_bearer.status_code == 401, as_bearer.text
    assert as_bearer.headers["www-authenticate"].startswith("DPoP "), as_bearer.headers

    refreshed = rp.call("refresh", refresh_token=tokens["refresh_token"])["tokens"]
    assert refreshed["token_type"] == "dpop"
    again = rp.call("introspect", token=refreshed["access_token"])["introspection"]
    assert again["active"] is True and again["cnf"] == {"jkt": jkt}


class FirstTokenRequestFailed(AssertionError):
    """The first token request of a fresh server failed with a 500 from the signing-key bootstrap."""


def test_first_token_request_on_a_fresh_server(node_toolchain: NodeToolchain, tmp_path: Path) -> None:
    """RFC 6749 §4.1.3 / OIDC Core §3.1.3 on a freshly installed provider with openid-client v6: the
    very first token request (no signing key yet — the provider bootstraps one) must return tokens.
    The shared server of the other tests gets its key from ``genba keys rotate`` instead."""
    with running_server(tmp_path / "fresh") as server:
        created = server.create_client(name="初回トークン", redirect_uris=[REDIRECT_URI])
        rp = NodeRP(
            toolchain=node_toolchain,
            library="openid-client",
            issuer=server.base_url,
            client_id=created["client_id"],
            client_auth={"method": "client_secret_basic", "client_secret": created["client_secret"]},
            redirect_uri=REDIRECT_URI,
        )
        data = server.create_technician(technician_id="49999999999999", name="小林 初", kana="コバヤシ ハジメ")
        person = Technician("49999999999999", "小林 初", "コバヤシ ハジメ", data["password"], data["totp_secret"])
        begun, authorized = _sign_in(rp, server, person)
        try:
            result = rp.call("callback", callback_url=authorized.callback_url, checks=begun["checks"])
        except RPRefused as exc:
            cause = exc.error.get("cause") or {}
            if cause.get("response_status") == 500 and "max() arg is an empty sequence" in server.log_tail(20000):
                raise FirstTokenRequestFailed(f"POST /token answered 500:\n{server.log_tail(3000)}") from exc
            raise
        assert result["tokens"]["access_token"] and result["id_token_claims"]["iss"] == server.base_url
