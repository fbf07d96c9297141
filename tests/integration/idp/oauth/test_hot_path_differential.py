"""The protocol front answers exactly like the general path (issue 14 acceptance: "a differential test
replays the same requests through the hot path and the general path and compares responses";
docs/architecture.md, "The protocol front").

Two applications share one database and one frozen clock: ``general`` (``create_app(...,
protocol_front=False)``, every request through FastAPI's routes) and ``front`` (the default, token,
introspection, userinfo, JWKS and discovery dispatched by ``app/front.py``). Each request below is
sent three times: to ``general``, to ``front`` with ``hot_ready`` false (the work in the thread pool)
and to ``front`` with ``hot_ready`` true (the work on the event loop). Each application has a seeded
randomness, reseeded with the case's name before each send, so what the provider draws (a token's
``jti``) is the same on every path; only ES256 signatures (their nonce comes from the OS) are masked.
Status, every header and the body must then be identical. DPoP proofs and client assertions are
made afresh for each send (their ``jti`` is single use, RFC 9449 §11.1, RFC 7523 §3).
"""

from __future__ import annotations

import base64
import json
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.factory import create_app
from idp.models import OAuthGrant
from idp.oauth.public import Resource, TokenKind, mint_access_token
from idp.oauth.runtime import get_oauth
from tests.conftest import make_settings
from tests.support.clock import FrozenClock
from tests.support.oidc import (
    ISSUER,
    REDIRECT,
    Client,
    client_key,
    code_flow,
    dpop_proof,
    employ,
    new_key,
    own_client,
    post_token,
    private_key_jwt,
    register_client,
    tokens,
)
from tests.support.web import make_technician

PATHS = ("general", "front", "front-hot")
FORM = "application/x-www-form-urlencoded"
MAX_BODY = 4096
ROOT_PATH = "/id"
JWT = re.compile(rb"(eyJ[\w-]+\.eyJ[\w-]+\.)[\w-]{40,}")


class SeededRandomness:
    """``idp.runtime.Randomness`` drawn from a seeded generator (tests only: never secret)."""

    def __init__(self) -> None:
        self._random = random.Random(0)

    def reseed(self, label: str) -> None:
        self._random = random.Random(label)

    def token_bytes(self, n: int) -> bytes:
        return self._random.randbytes(n)


class HotSwitch:
    """``OAuthServices.hot_ready`` for the test: answers ``hot`` and records which case asked."""

    def __init__(self) -> None:
        self.hot, self.case = False, ""
        self.asked: list[str] = []

    def __call__(self) -> bool:
        self.asked.append(self.case)
        return self.hot


@dataclass
class Sent:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None


@dataclass
class World:
    clock: FrozenClock
    rp: Client  # client_secret_basic, authorization_code + client_credentials
    post: Client  # client_secret_post, client_credentials
    signer: Client  # private_key_jwt
    signer_key: Any
    dpop_key: Any
    tokens: dict[str, str]


def _basic(client: Client) -> dict[str, str]:
    pair = f"{client.client_id}:{client.client_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def _form(params: dict[str, str] | str, **headers: str) -> tuple[bytes, dict[str, str]]:
    body = params if isinstance(params, str) else urlencode(params)
    return body.encode(), {"Content-Type": FORM, **headers}


def _secret_post(client: Client) -> dict[str, str]:
    return {"client_id": client.client_id, "client_secret": client.client_secret or ""}


def _post(path: str, params: dict[str, str] | str, **headers: str) -> Sent:
    content, all_headers = _form(params, **headers)
    return Sent("POST", path, all_headers, content)


CC = {"grant_type": "client_credentials"}


def _token_cases(w: World) -> dict[str, Callable[[], Sent]]:
    """RFC 6749 §3.2, §4.4, §5.2; RFC 7523 §2.2; RFC 9449 §5; RFC 6749 §3.1 (parameters once, UTF-8)."""
    token_url = ISSUER + "/token"
    return {
        "cc basic": lambda: _post("/token", CC, **_basic(w.rp)),
        "cc post": lambda: _post("/token", {**CC, **_secret_post(w.post)}),
        "cc private_key_jwt": lambda: _post(
            "/token", {**CC, "client_id": w.signer.client_id, **private_key_jwt(w.signer_key, w.signer.client_id)}
        ),
        "cc wrong secret": lambda: _post("/token", CC, **_basic(Client(w.rp.client_id, "wrong"))),
        "cc unknown client": lambda: _post("/token", CC, **_basic(Client("no-such-client", "x"))),
        "bad grant": lambda: _post("/token", {"grant_type": "password", "username": "a"}, **_basic(w.rp)),
        "no grant_type": lambda: _post("/token", {"scope": "openid"}, **_basic(w.rp)),
        "cc dpop": lambda: _post(
            "/token", CC, **_basic(w.rp), DPoP=dpop_proof(w.dpop_key, "POST", token_url, now=w.clock.now)
        ),
        "cc bad dpop": lambda: _post(
            "/token", CC, **_basic(w.rp), DPoP=dpop_proof(w.dpop_key, "GET", token_url, now=w.clock.now)
        ),
        "duplicate parameter": lambda: _post(
            "/token", "grant_type=client_credentials&grant_type=client_credentials", **_basic(w.rp)
        ),
        "NUL in body": lambda: _post("/token", "grant_type=client_credentials&scope=a%00b", **_basic(w.rp)),
        "NUL in query": lambda: _post("/token?x=%00", CC, **_basic(w.rp)),
        "body too large": lambda: _post("/token", {**CC, "scope": "x" * MAX_BODY}, **_basic(w.rp)),
        "json body": lambda: Sent("POST", "/token", {"Content-Type": "application/json", **_basic(w.rp)}, b"{}"),
        "GET token falls through": lambda: Sent("GET", "/token"),
    }


def _introspection_cases(w: World) -> dict[str, Callable[[], Sent]]:
    """RFC 7662 §2.1 (client-authenticated request), §2.2 (active or not), RFC 7009 (revoked)."""
    t = w.tokens
    return {
        "introspect active": lambda: _post("/introspect", {"token": t["cc"]}, **_basic(w.rp)),
        "introspect user token": lambda: _post("/introspect", {"token": t["user"]}, **_basic(w.rp)),
        "introspect inactive": lambda: _post("/introspect", {"token": "not-a-token"}, **_basic(w.rp)),
        "introspect revoked": lambda: _post("/introspect", {"token": t["revoked"]}, **_basic(w.rp)),
        "introspect wrong client": lambda: _post(
            "/introspect",
            {"token": t["cc"], "client_id": w.post.client_id, "client_secret": w.post.client_secret or ""},
        ),
        "introspect unauthenticated": lambda: _post("/introspect", {"token": t["cc"]}),
        "introspect no token": lambda: _post("/introspect", {}, **_basic(w.rp)),
    }


def _userinfo_cases(w: World) -> dict[str, Callable[[], Sent]]:
    """OIDC Core §5.3; RFC 6750 §2, §3.1 (errors and challenges); RFC 9449 §7 (DPoP-bound tokens)."""
    t = w.tokens

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def with_proof() -> Sent:
        proof = dpop_proof(w.dpop_key, "GET", ISSUER + "/userinfo", now=w.clock.now, access_token=t["dpop"])
        return Sent("GET", "/userinfo", {"Authorization": f"DPoP {t['dpop']}", "DPoP": proof})

    return {
        "userinfo valid": lambda: Sent("GET", "/userinfo", bearer(t["user"])),
        "userinfo POST body": lambda: _post("/userinfo", {"access_token": t["user"]}),
        "userinfo expired": lambda: Sent("GET", "/userinfo", bearer(t["user"])),
        "userinfo wrong audience": lambda: Sent("GET", "/userinfo", bearer(t["cc"])),
        "userinfo insufficient scope": lambda: Sent("GET", "/userinfo", bearer(t["no openid"])),
        "userinfo dpop": with_proof,
        "userinfo dpop token as bearer": lambda: Sent("GET", "/userinfo", bearer(t["dpop"])),
        "userinfo no token": lambda: Sent("GET", "/userinfo"),
        "userinfo two ways": lambda: _post("/userinfo", {"access_token": t["user"]}, **bearer(t["user"])),
        "userinfo malformed header": lambda: Sent("GET", "/userinfo", {"Authorization": "Basic abc"}),
    }


def _document_cases(w: World) -> dict[str, Callable[[], Sent]]:
    """RFC 7517 §5 (JWK Set), OIDC Discovery 1.0 §4, RFC 8414 §3; HEAD is FastAPI's either way."""
    return {
        "jwks": lambda: Sent("GET", "/jwks"),
        "HEAD jwks falls through": lambda: Sent("HEAD", "/jwks"),
        "openid-configuration": lambda: Sent("GET", "/.well-known/openid-configuration"),
        "oauth-authorization-server": lambda: Sent("GET", "/.well-known/oauth-authorization-server"),
    }


#: the cases whose request is made later than the tokens were minted (RFC 9068 §4: exp is checked)
LATER = {"userinfo expired": timedelta(hours=2)}


def _seen(response: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, every header, and the body with JWT signatures masked (ES256 draws its nonce itself)."""
    headers = sorted((k.lower(), JWT.sub(rb"\1<sig>", v.encode()).decode()) for k, v in response.headers.multi_items())
    return response.status_code, headers, JWT.sub(rb"\1<sig>", response.content)


@pytest.fixture
def apps(tmp_path: Path, db_url: str, engine: Engine, clock: FrozenClock, db: Session) -> Iterator[dict[str, Any]]:
    """The front and the general application on one database, each with its seeded randomness."""
    settings = make_settings(tmp_path, db_url, max_body_bytes=MAX_BODY)
    front_rng, general_rng = SeededRandomness(), SeededRandomness()
    front = create_app(settings, clock=clock, engine=engine, rng=front_rng)
    general = create_app(settings, clock=clock, engine=engine, rng=general_rng, protocol_front=False)
    proxied_front = TestClient(front, base_url="http://localhost", root_path=ROOT_PATH)
    proxied_general = TestClient(general, base_url="http://localhost", root_path=ROOT_PATH)
    with (
        TestClient(front, base_url="http://localhost") as front_client,
        TestClient(general, base_url="http://localhost") as general_client,
    ):
        yield {
            "front": front,
            "general": general,
            "clients": {"general": general_client, "front": front_client, "front-hot": front_client},
            # behind a proxy that strips a prefix (uvicorn --root-path: the path keeps it, root_path names it)
            "proxied": {"general": proxied_general, "front": proxied_front, "front-hot": proxied_front},
            "rngs": {"general": general_rng, "front": front_rng, "front-hot": front_rng},
        }


def _world(front: FastAPI, browser: TestClient, clock: FrozenClock) -> World:
    """Clients of every authentication method, and tokens made once (the requests then only read them)."""
    make_technician(front)
    employ(front, "10000000000019")
    rp = own_client(front, register_client(front, grant_types=["authorization_code", "client_credentials"]))
    post = register_client(front, grant_types=["client_credentials"], token_endpoint_auth_method="client_secret_post")
    signer_key, signer_jwks = client_key()
    signer = register_client(
        front, grant_types=["client_credentials"], token_endpoint_auth_method="private_key_jwt", jwks=signer_jwks
    )
    dpop_key = new_key("ES256")
    person = make_technician(front, technician_id="10000000000027", name="佐藤 花子")
    employ(front, "10000000000027")
    user = tokens(browser, front, rp, person, scope="openid profile")["access_token"]
    flow, verifier = code_flow(browser, front, rp, person, scope="openid profile")
    form = {"grant_type": "authorization_code", "code": flow.code, "redirect_uri": REDIRECT, "code_verifier": verifier}
    proof = dpop_proof(dpop_key, "POST", ISSUER + "/token", now=clock.now)
    dpop = post_token(browser, rp, form, {"DPoP": proof}).json()["access_token"]
    cc = post_token(browser, rp, CC).json()["access_token"]
    revoked = post_token(browser, rp, CC).json()["access_token"]
    assert post_token(browser, rp, {}).status_code == 400  # (a sanity check of the helpers)
    assert browser.post("/revoke", data={"token": revoked}, auth=(rp.client_id, rp.client_secret or "")).is_success
    claims = json.loads(base64.urlsafe_b64decode(user.split(".")[1] + "=="))
    with Session(front.state.engine) as s:
        grant = s.get(OAuthGrant, claims["gid"])
        no_openid, _ = mint_access_token(
            front.state.oauth.services,
            client_id=rp.client_id,
            subject=claims["sub"],
            scope="profile",
            grant=grant,
            jkt=None,
            kind=TokenKind.user,
            audience=[Resource.userinfo],
        )
    all_tokens = {"user": user, "dpop": dpop, "cc": cc, "revoked": revoked, "no openid": no_openid}
    return World(clock, rp, post, signer, signer_key, dpop_key, all_tokens)


def test_the_front_answers_every_request_exactly_as_the_general_path(apps: dict[str, Any], clock: FrozenClock) -> None:
    """Issue 14 acceptance (docs/architecture.md, "The protocol front"): for token (RFC 6749 §3.2, §5.2),
    introspection (RFC 7662), userinfo (OIDC Core §5.3, RFC 6750 §3.1, RFC 9449 §7), JWKS and discovery,
    valid and refused requests alike, the front (its work in the thread pool, and on the event loop when
    the caches are hot) gives the same status, headers and body as FastAPI's routes, directly and behind
    a proxy's path prefix (ASGI ``root_path``), and it answers them without FastAPI's dependency injection."""
    front: FastAPI = apps["front"]
    w = _world(front, apps["clients"]["front"], clock)
    injected = {"front": 0, "general": 0}

    def counted(name: str) -> Callable[..., Any]:
        async def get(request: Request) -> Any:
            injected[name] += 1
            return await get_oauth(request)

        return get

    front.dependency_overrides[get_oauth] = counted("front")
    apps["general"].dependency_overrides[get_oauth] = counted("general")
    cases = {**_token_cases(w), **_introspection_cases(w), **_userinfo_cases(w), **_document_cases(w)}
    start = clock.now
    services = front.state.oauth.services
    switch = HotSwitch()
    services.hot_ready = switch
    differences = []
    for prefix, clients in (("", apps["clients"]), (ROOT_PATH, apps["proxied"])):
        for name, build in cases.items():
            clock.now = start + LATER.get(name, timedelta())
            seen = {}
            for path in PATHS:
                switch.hot, switch.case = path == "front-hot", name
                apps["rngs"][path].reseed(prefix + name)
                sent = build()
                clients[path].cookies.clear()  # each send as a fresh caller (front and front-hot share a client)
                response = clients[path].request(
                    sent.method,
                    prefix + sent.path,
                    headers={"X-Request-Id": "r-1", **sent.headers},
                    content=sent.content,
                )
                seen[path] = _seen(response)
            if not seen["general"] == seen["front"] == seen["front-hot"]:
                differences.append((prefix + name, seen))
    clock.now = start
    assert differences == []
    assert injected["front"] == 0 and injected["general"] > 0
    # asked once per send on each front path, for every request that reached the work (it was read)
    assert switch.asked.count("cc basic") == 4 and switch.asked.count("introspect active") == 4
    assert "jwks" not in switch.asked and "duplicate parameter" not in switch.asked
    # what records a single-use value (a DPoP proof, a client assertion) never runs on the event loop, nor
    # userinfo while technician claims are wired: each release is a recorded disclosure (domain rule 6)
    assert front.state.oauth.extensions.userinfo_claims is not None
    assert not {"cc dpop", "userinfo dpop", "cc private_key_jwt", "bad grant", "userinfo valid"} & set(switch.asked)


def test_the_cases_cover_successes_and_each_kind_of_refusal(apps: dict[str, Any], clock: FrozenClock) -> None:
    """The differential test above cannot pass vacuously: through the front, the cases answer what each
    clause requires (RFC 6749 §5.1/§5.2, RFC 7662 §2.2, RFC 6750 §3.1, RFC 9449 §5, RFC 9110 §15.5.14)."""
    w = _world(apps["front"], apps["clients"]["front"], clock)
    cases = {**_token_cases(w), **_introspection_cases(w), **_userinfo_cases(w), **_document_cases(w)}
    client: TestClient = apps["clients"]["front"]
    expected = {
        "cc basic": 200,
        "cc post": 200,
        "cc private_key_jwt": 200,
        "cc wrong secret": 401,
        "cc unknown client": 401,
        "bad grant": 400,
        "cc dpop": 200,
        "cc bad dpop": 400,
        "duplicate parameter": 400,
        "NUL in body": 400,
        "NUL in query": 400,
        "body too large": 413,
        "GET token falls through": 405,
        "introspect active": 200,
        "introspect unauthenticated": 401,
        "userinfo valid": 200,
        "userinfo POST body": 200,
        "userinfo wrong audience": 401,
        "userinfo insufficient scope": 403,
        "userinfo dpop": 200,
        "userinfo dpop token as bearer": 401,
        "userinfo no token": 401,
        "userinfo two ways": 400,
        "jwks": 200,
        "openid-configuration": 200,
    }
    statuses = {}
    for name, build in cases.items():
        sent = build()
        response = client.request(sent.method, sent.path, headers=sent.headers, content=sent.content)
        statuses[name] = response.status_code
        if name == "introspect revoked" or name == "introspect inactive":
            assert response.json() == {"active": False}, name
        if name == "introspect active":
            assert response.json()["active"] is True
        if name == "cc dpop":
            assert response.json()["token_type"] == "DPoP"
    assert {k: statuses[k] for k in expected} == expected
