"""Helpers to drive the OpenID provider like a relying party would, through the ASGI client."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlmodel import Session

from idp.oauth.clients import create_client
from tests.support.web import csrf_of, runtime

ISSUER = "http://localhost"
REDIRECT = "https://rp.example.jp/cb"


@dataclass
class Client:
    client_id: str
    client_secret: str | None
    redirect_uri: str = REDIRECT


def register_client(app: FastAPI, **kwargs: Any) -> Client:
    rt = runtime(app)
    kwargs.setdefault("client_name", "勤怠管理システム")
    kwargs.setdefault("redirect_uris", [REDIRECT])
    with Session(rt.engine, expire_on_commit=False) as s:
        new = create_client(session=s, rng=rt.rng, now=rt.clock(), **kwargs)
        s.commit()
    return Client(new.client.client_id, new.client_secret, kwargs["redirect_uris"][0])


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(client: Client, **params: str) -> str:
    query = {
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
    auth = (client.client_id, client.client_secret) if client.client_secret else None
    if not client.client_secret:
        form.setdefault("client_id", client.client_id)
    return client_api.post("/token", data=form, auth=auth)


def exchange(client_api: TestClient, client: Client, code: str, verifier: str | None = None, **extra: str) -> Any:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": client.redirect_uri, **extra}
    if verifier:
        form["code_verifier"] = verifier
    return token_request(client_api, client, **form)


def verify_id_token(client_api: TestClient, id_token: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(client_api.get("/jwks").json())
    return dict(jwt.decode(id_token, keys, algorithms=["ES256", "RS256", "PS256", "EdDSA"]).claims)
