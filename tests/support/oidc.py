"""Helpers to drive the OpenID provider like a relying party would, through the ASGI client."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import date, datetime
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jws, jwt
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey
from sqlmodel import Session

from idp import accounts
from idp.oauth.clients import create_client
from tests.support.web import PASSWORD, Person, code_now, csrf_of, runtime
from tests.support.world import world_of

ISSUER = "http://localhost"
REDIRECT = "https://rp.example.jp/cb"


@dataclass
class Client:
    client_id: str
    client_secret: str | None
    redirect_uri: str = REDIRECT
    auth_method: str = "client_secret_basic"


def register_client(app: FastAPI, **kwargs: Any) -> Client:
    rt = runtime(app)
    kwargs.setdefault("client_name", "勤怠管理システム")
    kwargs.setdefault("redirect_uris", [REDIRECT])
    # registered as the app registers clients: under its outbound policy (GENBA_OUTBOUND_ALLOW_PRIVATE)
    kwargs.setdefault("outbound", app.state.oauth.services.config.outbound)
    with Session(rt.engine, expire_on_commit=False) as s:
        new = create_client(session=s, rng=rt.rng, now=rt.clock(), **kwargs)
        s.commit()
    return Client(
        new.client.client_id,
        new.client_secret,
        (kwargs["redirect_uris"] or [""])[0],
        new.client.token_endpoint_auth_method,
    )


#: The employer of the conformance world: the relying party is its own system, and its technicians
#: work for it, so the relationship rules let the RP read their standard claims (a third party would
#: need a consent of both the technician and the employer: tests/security/test_hole2_*).
OWN_EMPLOYER = "20000000000018"
EMPLOYER_NAME = "田中建設株式会社"
EMPLOYER_ADDRESS = "東京都港区芝公園1-2-3"


def ensure_employer(app: FastAPI, employer_id: str = OWN_EMPLOYER) -> None:
    with Session(runtime(app).engine) as s:
        if accounts.find_employer(session=s, employer_id=employer_id) is None:
            world_of(app, s).employer(employer_id, EMPLOYER_NAME, address=EMPLOYER_ADDRESS)
            s.commit()


def own_client(app: FastAPI, client: Client, employer_id: str = OWN_EMPLOYER) -> Client:
    """Make ``client`` the employer's own system (it acts for the company that owns it)."""
    from idp.models import OAuthClient

    ensure_employer(app, employer_id)
    rt = runtime(app)
    with Session(rt.engine) as s:
        row = s.get(OAuthClient, client.client_id)
        employer = accounts.find_employer(session=s, employer_id=employer_id)
        assert row is not None and employer is not None
        row.owner_employer_pk = employer.id
        s.add(row)
        s.commit()
    return client


def employ(app: FastAPI, technician_id: str, employer_id: str = OWN_EMPLOYER) -> None:
    """The technician works for the employer from 2020-04-01."""
    ensure_employer(app, employer_id)
    with Session(runtime(app).engine) as s:
        world_of(app, s).affiliation(technician_id, employer_id, date(2020, 4, 1))
        s.commit()


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(client: Client, **params: str | None) -> str:
    query: dict[str, str | None] = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "scope": "openid",
        "state": "st-" + secrets.token_hex(4),
    }
    query.update(params)
    return "/authorize?" + urlencode({k: v for k, v in query.items() if v is not None})


def follow_to_client(
    browser: TestClient, url: str, *, consent: str | None = "approve", remember: bool = False
) -> dict[str, str]:
    """Follow redirects inside the provider until the browser is sent back to the client; approve consent."""
    response = browser.get(url, follow_redirects=False)
    for _ in range(10):
        if response.status_code in (302, 303):
            location = response.headers["location"]
            if not location.startswith("/"):
                return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
            response = browser.get(location, follow_redirects=False)
            continue
        if response.status_code == 200 and 'name="decision"' in response.text and consent:
            form = {
                "csrf_token": csrf_of(response.text),
                "decision": consent,
                "interaction": response.text.split('name="interaction" value="')[1].split('"')[0],
            }
            if remember:
                form["remember"] = "1"
            response = browser.post("/authorize/consent", data=form, follow_redirects=False)
            continue
        if response.status_code == 200 and 'id="form-post"' in response.text:
            html = response.text
            fields = dict(
                (part.split('name="')[1].split('"')[0], part.split('value="')[1].split('"')[0])
                for part in html.split("<input")[1:]
                if 'type="hidden" name="' in part and "csrf" not in part
            )
            return {"__form_post": "1", **fields}
        return {"__status": str(response.status_code), "__body": response.text}
    raise AssertionError("too many redirects")


def token_request(client_api: TestClient, client: Client, **form: str) -> Any:
    """POST /token with the client authenticating by its registered method (see ``post_token``)."""
    return post_token(client_api, client, form)


def post_token(client_api: TestClient, client: Client, form: dict[str, str], headers: Any = None) -> Any:
    """Client authentication by the client's registered method: HTTP Basic, or the secret in the body for
    ``client_secret_post``; other clients send ``client_id`` (and any assertion given in ``form``)."""
    form = dict(form)
    auth = None
    if client.client_secret and client.auth_method == "client_secret_post":
        form.setdefault("client_id", client.client_id)
        form.setdefault("client_secret", client.client_secret)
    elif client.client_secret:
        auth = (client.client_id, client.client_secret)
    else:
        form.setdefault("client_id", client.client_id)
    return client_api.post("/token", data=form, auth=auth, headers=headers)


def exchange(client_api: TestClient, client: Client, code: str, verifier: str | None = None, **extra: str) -> Any:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": client.redirect_uri, **extra}
    if verifier:
        form["code_verifier"] = verifier
    return token_request(client_api, client, **form)


def verify_id_token(client_api: TestClient, id_token: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(client_api.get("/jwks").json())
    return dict(jwt.decode(id_token, keys, algorithms=["ES256", "RS256", "PS256", "EdDSA"]).claims)


# -- helpers for the conformance tests (OpenID Foundation plans, RFC 9700) ---------------------------------------------


def make_staff(
    app: FastAPI,
    *,
    email: str = "tanaka@example.co.jp",
    employer_id: str = "20000000000018",
    login: str = "tanaka",
) -> Person:
    """An employer staff account with an e-mail address and TOTP (technicians have no e-mail)."""
    with Session(runtime(app).engine, expire_on_commit=False) as s:
        world = world_of(app, s)
        if accounts.find_employer(session=s, employer_id=employer_id) is None:
            world.employer(employer_id, EMPLOYER_NAME, address=EMPLOYER_ADDRESS)
        world.staff(employer_id, login, "田中 花子", email=email, password=PASSWORD)
        s.commit()
        return world.logins[f"{employer_id}-{login}"]


@dataclass
class Flow:
    """What an authorization request ended with, and what the user was asked on the way."""

    params: dict[str, str]  # the authorization response the client received ({} if it received none)
    signed_in: bool = False  # the provider sent the user to the sign-in page
    consent_shown: bool = False
    form_post: bool = False
    status: int | None = None  # when the browser was not sent back: the status of the page shown
    body: str = ""
    location: str | None = None  # the URL the browser was sent to, if it left the provider

    @property
    def code(self) -> str:
        assert "code" in self.params, f"no code in the response: {self.params or (self.status, self.body[:300])}"
        return self.params["code"]


def _hidden_fields(html: str) -> dict[str, str]:
    return {
        unescape(name): unescape(value)
        for name, value in re.findall(r'type="hidden" name="([^"]*)" value="([^"]*)"', html)
    }


def sign_in_at(browser: TestClient, app: FastAPI, person: Person, login_location: str) -> Any:
    """Sign in on the page the provider sent the browser to (password, then TOTP); return the final redirect."""
    page = browser.get(login_location)
    assert page.status_code == 200, page.text
    fields = _hidden_fields(page.text)
    step = browser.post(
        "/login",
        data={"username": person.username, "password": person.password, **fields},
        follow_redirects=False,
    )
    assert step.status_code == 303 and step.headers["location"] == "/login/otp", (step.status_code, step.text[:300])
    otp_page = browser.get("/login/otp")
    done = browser.post(
        "/login/otp",
        data={"otp": code_now(app, person), "csrf_token": csrf_of(otp_page.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303, f"second factor refused (TOTP code reused? advance the clock): {done.text[:300]}"
    return done


def run_flow(
    browser: TestClient,
    app: FastAPI,
    url: str,
    *,
    person: Person | None = None,
    consent: str | None = "approve",
    remember: bool = False,
    post: dict[str, str] | None = None,
) -> Flow:
    """Drive the browser from ``url`` (or a POST of ``post`` to /authorize) until it is sent back to the
    client: sign ``person`` in when asked, answer the consent page with ``consent``."""
    if post is not None:
        response = browser.post("/authorize", data=post, follow_redirects=False)
    else:
        response = browser.get(url, follow_redirects=False)
    flow = Flow(params={})
    for _ in range(12):
        if response.status_code in (302, 303):
            location = response.headers["location"]
            if not location.startswith("/"):
                flow.location = location
                flow.params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
                return flow
            if location.startswith("/login"):
                assert person is not None, "the provider asked the user to sign in"
                flow.signed_in = True
                response = sign_in_at(browser, app, person, location)
                continue
            response = browser.get(location, follow_redirects=False)
            continue
        if response.status_code == 200 and 'name="decision"' in response.text and consent:
            flow.consent_shown = True
            form = {**_hidden_fields(response.text), "decision": consent}
            if remember:
                form["remember"] = "1"
            response = browser.post("/authorize/consent", data=form, follow_redirects=False)
            continue
        if response.status_code == 200 and 'id="form-post"' in response.text:
            flow.form_post = True
            flow.location = unescape(re.findall(r'<form method="post" action="([^"]*)"', response.text)[0])
            flow.params = _hidden_fields(response.text)
            return flow
        flow.status, flow.body = response.status_code, response.text
        return flow
    raise AssertionError("too many redirects")


def id_token_claims(
    api: TestClient,
    id_token: str,
    *,
    client: Client,
    now: datetime,
    nonce: str | None = None,
    access_token: str | None = None,
) -> dict[str, Any]:
    """Validate an ID token the way the OpenID conformance suite does (OIDC Core §3.1.3.7, §2, §3.1.3.6):
    signature by a key of the JWKS (found by ``kid``), iss, aud, exp/iat, nonce, auth_time, at_hash, sub."""
    header = jws.extract_compact(id_token.encode()).protected
    jwks = api.get("/jwks").json()
    assert (
        header.get("alg")
        in api.get("/.well-known/openid-configuration").json()["id_token_signing_alg_values_supported"]
    )
    assert header.get("alg") != "none"
    assert any(k.get("kid") == header.get("kid") for k in jwks["keys"]), "kid not in the JWKS"
    claims = dict(jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=[header["alg"]]).claims)
    assert claims["iss"] == ISSUER
    aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert client.client_id in aud and (len(aud) == 1 or claims.get("azp") == client.client_id)
    ts = int(now.timestamp())
    assert isinstance(claims["exp"], int) and claims["exp"] > ts
    assert isinstance(claims["iat"], int) and ts - 300 <= claims["iat"] <= ts + 5
    assert isinstance(claims["sub"], str) and 0 < len(claims["sub"]) <= 255 and claims["sub"].isascii()
    assert isinstance(claims.get("auth_time"), int) and claims["auth_time"] <= ts
    if nonce is None:
        assert "nonce" not in claims
    else:
        assert claims.get("nonce") == nonce
    if access_token is not None or "at_hash" in claims:
        assert access_token is not None
        digest = hashlib.sha512 if header["alg"] == "EdDSA" else hashlib.sha256
        half = digest(access_token.encode()).digest()
        assert claims["at_hash"] == base64.urlsafe_b64encode(half[: len(half) // 2]).rstrip(b"=").decode()
    return claims


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_key(alg: str = "ES256") -> Any:
    """A fresh private key for ``alg`` (ES256, ES384, RS256, PS256 or EdDSA)."""
    if alg in ("ES256", "ES384"):
        return ECKey.generate_key("P-256" if alg == "ES256" else "P-384")
    if alg in ("RS256", "PS256"):
        return RSAKey.generate_key(2048)
    assert alg == "EdDSA", alg
    return OKPKey.generate_key("Ed25519")


def client_key(kid: str = "rp-key-1", alg: str = "ES256") -> tuple[Any, dict[str, Any]]:
    """A key pair for a client and its registrable public JWK Set."""
    key = new_key(alg)
    return key, {"keys": [{**key.as_dict(private=False), "kid": kid, "use": "sig", "alg": alg}]}


def signed_jwt(
    key: Any, claims: dict[str, Any], *, kid: str = "rp-key-1", typ: str | None = None, alg: str = "ES256"
) -> str:
    header: dict[str, Any] = {"alg": alg, "kid": kid}
    if typ:
        header["typ"] = typ
    return jwt.encode(header, claims, key, algorithms=[alg])


def unsigned_jwt(claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
    """``alg: none`` (RFC 7519 §6): header.payload. with an empty signature."""
    head = header or {"alg": "none"}
    return f"{b64url(json.dumps(head).encode())}.{b64url(json.dumps(claims).encode())}."


def private_key_jwt(key: Any, client_id: str, *, audience: str = ISSUER + "/token") -> dict[str, str]:
    """Client authentication with ``private_key_jwt`` (OIDC Core §9). authlib checks exp against the wall clock."""
    now = int(time.time())
    assertion = signed_jwt(
        key,
        {
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + 120,
        },
    )
    return {
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }


def dpop_proof(
    key: Any,
    htm: str,
    htu: str,
    *,
    now: datetime,
    alg: str = "ES256",
    access_token: str | None = None,
    **overrides: Any,
) -> str:
    """A DPoP proof (RFC 9449 §4.2): typ dpop+jwt, the public key in ``jwk``; ``overrides`` replace or (with
    value None) remove claims, and ``header_*`` keys replace header members."""
    header: dict[str, Any] = {"typ": "dpop+jwt", "alg": alg, "jwk": key.as_dict(private=False)}
    claims: dict[str, Any] = {"jti": secrets.token_urlsafe(12), "htm": htm, "htu": htu, "iat": int(now.timestamp())}
    if access_token is not None:
        claims["ath"] = b64url(hashlib.sha256(access_token.encode()).digest())
    for name, value in overrides.items():
        target, name = (header, name[7:]) if name.startswith("header_") else (claims, name)
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value
    return jws.serialize_compact(header, json.dumps(claims).encode(), key, algorithms=[alg])


def code_flow(
    browser: TestClient, app: FastAPI, client: Client, person: Person, **params: str | None
) -> tuple[Flow, str]:
    """An authorization request with PKCE (S256) and a nonce; returns the flow and the code verifier."""
    verifier, challenge = pkce()
    params.setdefault("nonce", "n-" + secrets.token_hex(6))
    flow = run_flow(
        browser,
        app,
        authorize_url(client, code_challenge=challenge, code_challenge_method="S256", **params),
        person=person,
        remember=True,
    )
    return flow, verifier


def tokens(browser: TestClient, app: FastAPI, client: Client, person: Person, **params: str | None) -> dict[str, Any]:
    """A whole code flow up to the token response (asserted successful)."""
    flow, verifier = code_flow(browser, app, client, person, **params)
    response = exchange(browser, client, flow.code, verifier)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
