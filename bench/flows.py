"""A scripted browser for full authorization-code + PKCE sign-ins, against Genba ID or the peer.

One flow: ``GET <authorize>`` with S256 PKCE, state and nonce; then whatever the provider answers is
followed like a browser would — redirects, and the pages' forms: the one with a ``password`` field
(username + password), the one with an ``otp`` field (the current TOTP code), the one with a
``decision`` button (approve) — until the provider redirects to the client's redirect URI. The code
is exchanged at ``/token`` (client_secret_basic + code_verifier). A flow counts only if ``state``
comes back and the token response has an access token and an ID token.

The same script drives both providers: Genba's pages (``/login``, ``/login/otp``, consent) and the
peer's (``bench/node/server.mjs``) use the same field names; hidden fields (CSRF tokens, ``next``)
are sent back as they came.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from bench.server import tree_cpu_seconds
from bench.signin import AccountPool, Person
from idp import totp

FORM_RE = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
ATTR_RE = re.compile(r'([\w-]+)="([^"]*)"')
INPUT_RE = re.compile(r"<(?:input|button)\b([^>]*)>", re.I)
MAX_STEPS = 16
TIMEOUT = 30.0


@dataclass(frozen=True)
class OpenIdProvider:
    """Where one provider is and the confidential client registered at it."""

    name: str
    base_url: str  # what the script connects to: http://127.0.0.1:<port>
    issuer: str  # what the provider calls itself: http://localhost:<port>
    authorize_path: str  # /authorize (Genba) or /auth (oidc-provider)
    client_id: str
    client_secret: str
    redirect_uri: str
    scope: str = "openid profile"
    #: further authorization request parameters, e.g. RFC 9396 ``authorization_details`` (JSON text)
    extra: tuple[tuple[str, str], ...] = ()


class FlowError(RuntimeError):
    pass


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def forms(html: str) -> list[tuple[str, dict[str, str], set[str]]]:
    """``(action, hidden fields, names of the other inputs and buttons)`` of each form of a page."""
    found = []
    for attrs, body in FORM_RE.findall(html):
        action = unescape(dict(ATTR_RE.findall(attrs)).get("action", ""))
        hidden, names = {}, set()
        for tag in INPUT_RE.findall(body):
            field = {k.lower(): unescape(v) for k, v in ATTR_RE.findall(tag)}
            if "name" not in field:
                continue
            if field.get("type") == "hidden":
                hidden[field["name"]] = field.get("value", "")
            else:
                names.add(field["name"])
        found.append((action, hidden, names))
    return found


def fill(html: str, person: Person, password: str) -> tuple[str, dict[str, str]]:
    """The form to submit on this page, and its fields."""
    for action, hidden, names in forms(html):
        if "password" in names:
            return action, hidden | {"username": person.username, "password": password}
        if "otp" in names:
            now = datetime.now(UTC)
            person.last_step = int(now.timestamp()) // totp.STEP_SECONDS
            return action, hidden | {"otp": totp.current_code(person.totp_secret, now=now)}
        if "decision" in names:
            return action, hidden | {"decision": "approve"}
    raise FlowError(f"a page with no form the script knows: {html[:300]!r}")


async def full_flow(http: httpx.AsyncClient, op: OpenIdProvider, person: Person, password: str) -> dict[str, Any]:
    """One sign-in from the authorization request to the token response; ``http`` has an empty cookie jar."""
    verifier, challenge = pkce()
    state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    query = {"response_type": "code", "client_id": op.client_id, "redirect_uri": op.redirect_uri, "scope": op.scope}
    query |= {"state": state, "nonce": nonce, "code_challenge": challenge, "code_challenge_method": "S256"}
    query |= dict(op.extra)
    response = await http.get(f"{op.authorize_path}?{urlencode(query)}")
    for _ in range(MAX_STEPS):
        if response.status_code in (302, 303):
            location = response.headers["location"]
            if location.startswith(op.redirect_uri):
                params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
                break
            response = await http.get(location.removeprefix(op.issuer))  # the issuer's host is this server
        elif response.status_code == 200:
            action, data = fill(response.text, person, password)
            response = await http.post(action.removeprefix(op.issuer), data=data)
        else:
            where = f"{response.request.method} {response.request.url.path}"
            raise FlowError(f"{where} answered {response.status_code}: {response.text[:300]!r}")
    else:
        raise FlowError(f"not sent back to the client after {MAX_STEPS} steps")
    if params.get("state") != state or "code" not in params:
        raise FlowError(f"authorization response without code or with the wrong state: {params}")
    form = {"grant_type": "authorization_code", "code": params["code"], "redirect_uri": op.redirect_uri}
    token = await http.post("/token", data=form | {"code_verifier": verifier}, auth=(op.client_id, op.client_secret))
    body: dict[str, Any] = token.json() if token.headers.get("content-type", "").startswith("application/json") else {}
    if token.status_code != 200 or "access_token" not in body or "id_token" not in body:
        raise FlowError(f"token exchange answered {token.status_code}: {token.text[:300]!r}")
    return body


def client(op: OpenIdProvider) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    return httpx.AsyncClient(base_url=op.base_url, timeout=TIMEOUT, limits=limits, follow_redirects=False)


async def one_flow(op: OpenIdProvider, person: Person, password: str) -> dict[str, Any]:
    async with client(op) as http:
        return await full_flow(http, op, person, password)


async def drive(
    op: OpenIdProvider,
    pool: AccountPool,
    password: str,
    *,
    clients: int,
    warmup: float,
    duration: float,
    pid: int,
    window: Callable[[str], object] | None = None,
) -> dict[str, Any]:
    """``clients`` flows in flight (each task its own connections, cookies cleared per flow); flows that
    end inside the measured window count, and the server's CPU time over the window is read from /proc.
    ``window("start")`` and ``window("stop")`` are called at the window's edges (``bench.peer`` counts
    PostgreSQL's and Redis's CPU there); what ``window("stop")`` returns is ``services`` in the result."""
    stop = asyncio.Event()
    done: list[tuple[float, float]] = []  # (end, seconds)
    failures: list[str] = []

    async def task() -> None:
        async with client(op) as http:
            while not stop.is_set():
                try:
                    person = pool.take()
                except RuntimeError as exc:
                    failures.append(str(exc))
                    stop.set()
                    return
                started = time.perf_counter()
                try:
                    http.cookies.clear()
                    await full_flow(http, op, person, password)
                    ended = time.perf_counter()
                    done.append((ended, ended - started))
                except Exception as exc:
                    failures.append(f"{person.username}: {exc!r}"[:500])
                finally:
                    pool.give_back(person)

    async def pause(seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)

    tasks = [asyncio.create_task(task()) for _ in range(clients)]
    await pause(warmup)
    edge = window or (lambda _: None)
    edge("start")
    t0, cpu0, self0 = time.perf_counter(), tree_cpu_seconds(pid), time.process_time()
    await pause(duration)
    t1, cpu1, self1 = time.perf_counter(), tree_cpu_seconds(pid), time.process_time()
    services = edge("stop")
    stop.set()
    await asyncio.gather(*tasks)
    measured = [(end - t0, seconds) for end, seconds in done if t0 <= end <= t1]
    per_second = [0] * max(1, int(t1 - t0))  # flows completed in each whole second of the window
    for offset, _ in measured:
        if int(offset) < len(per_second):
            per_second[int(offset)] += 1
    return {
        "window_seconds": t1 - t0,
        "flows": len(measured),
        "latencies": sorted(seconds for _, seconds in measured),
        "per_second": per_second,
        "server_cpu_seconds": cpu1 - cpu0,
        "driver_cpu_seconds": self1 - self0,
        "failures": failures,
        "services": services,
    }
