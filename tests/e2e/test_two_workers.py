"""Stateless workers (issue 8, item 1 and acceptance): two server processes on the same PostgreSQL and
Redis serve the same users. A code issued by one is redeemed at the other, a DPoP proof used at one is
refused when replayed to the other, and sign-in throttling counts failures made at either."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import psycopg
import pyotp
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from common.japan_time import local_date
from tests.support.backends import PG_ADMIN_URL
from tests.support.server import LiveServer, start_server, stop_server, unused_loopback_port

pytestmark = pytest.mark.e2e
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, LiveServer]]:
    name = f"genba_w_{secrets.token_hex(5)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    tmp = tmp_path_factory.mktemp("workers")
    with unused_loopback_port() as public:  # the issuer both workers share, as behind a proxy
        env = {
            "GENBA_DATABASE_URL": f"{base}/{name}",
            "GENBA_REDIS_URL": f"redis://127.0.0.1:6379/{3}",
            "GENBA_REDIS_PREFIX": f"{name}:",  # counters of earlier runs must not count here
            "GENBA_ISSUER": f"http://localhost:{public}",
        }
        first = start_server(tmp / "a", env)
        second = start_server(tmp / "b", env)
        try:
            yield first, second
        finally:
            stop_server(first)
            stop_server(second)
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _sign_in(browser: httpx.Client, server: LiveServer, username: str, password: str, secret: str) -> None:
    page = browser.get(server.url("/login"))
    response = browser.post(
        server.url("/login"),
        data={"username": username, "password": password, "csrf_token": CSRF.search(page.text).group(1)},
    )  # type: ignore[union-attr]
    assert response.status_code == 303, response.text
    page = browser.get(server.url("/login/otp"))
    response = browser.post(
        server.url("/login/otp"), data={"otp": pyotp.TOTP(secret).now(), "csrf_token": CSRF.search(page.text).group(1)}
    )  # type: ignore[union-attr]
    assert response.status_code == 303, response.text


def test_code_from_one_worker_is_redeemed_at_the_other(workers: tuple[LiveServer, LiveServer]) -> None:
    a, b = workers
    person = a.create_technician(technician_id="10000000000019", name="鈴木 一郎", kana="スズキ イチロウ")
    client = a.create_client(name="勤怠管理システム", redirect_uris=["https://rp.example.jp/cb"])
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    with httpx.Client(timeout=30) as browser:
        _sign_in(browser, a, person["username"], person["password"], person["totp_secret"])
        query = {
            "response_type": "code",
            "client_id": client["client_id"],
            "redirect_uri": "https://rp.example.jp/cb",
            "scope": "openid",
            "state": "s",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        response = browser.get(a.url("/authorize?" + urlencode(query)), follow_redirects=False)
        while response.status_code in (302, 303) and response.headers["location"].startswith("/"):
            response = browser.get(a.url(response.headers["location"]), follow_redirects=False)
        if "decision" in response.text:
            response = browser.post(
                a.url("/authorize/consent"),
                data={
                    "csrf_token": CSRF.search(response.text).group(1),
                    "decision": "approve",  # type: ignore[union-attr]
                    "interaction": response.text.split('name="interaction" value="')[1].split('"')[0],
                },
                follow_redirects=False,
            )
        code = parse_qs(urlsplit(response.headers["location"]).query)["code"][0]
    token = httpx.post(
        b.url("/token"),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "https://rp.example.jp/cb",
            "code_verifier": verifier,
        },
        auth=(client["client_id"], client["client_secret"]),
        timeout=30,
    )
    assert token.status_code == 200, token.text
    # and the code is single-use across workers too
    again = httpx.post(
        a.url("/token"),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "https://rp.example.jp/cb",
            "code_verifier": verifier,
        },
        auth=(client["client_id"], client["client_secret"]),
        timeout=30,
    )
    assert again.json()["error"] == "invalid_grant"


def test_dpop_proof_replayed_to_the_other_worker_is_refused(workers: tuple[LiveServer, LiveServer]) -> None:
    a, b = workers
    client = a.create_client(
        name="入退場システム", redirect_uris=["https://gate.example.jp/cb"], grant_types=["client_credentials"]
    )
    key = ECKey.generate_key("P-256")
    issuer = a.env["GENBA_ISSUER"]
    proof = jwt.encode(
        {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)},
        {"jti": secrets.token_urlsafe(16), "htm": "POST", "htu": f"{issuer}/token", "iat": int(time.time())},
        key,
        algorithms=["ES256"],
    )
    form = {"grant_type": "client_credentials"}
    auth = (client["client_id"], client["client_secret"])
    first = httpx.post(a.url("/token"), data=form, auth=auth, headers={"DPoP": proof}, timeout=30)
    assert first.status_code == 200 and first.json()["token_type"] == "DPoP", first.text
    replay = httpx.post(b.url("/token"), data=form, auth=auth, headers={"DPoP": proof}, timeout=30)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_dpop_proof"


def test_rate_limits_are_shared(workers: tuple[LiveServer, LiveServer]) -> None:
    a, b = workers
    person = a.create_technician(technician_id="10000000000027", name="髙橋 勇", kana="タカハシ イサム")
    statuses = []
    with httpx.Client(timeout=30) as browser:
        for i in range(8):
            server = (a, b)[i % 2]
            page = browser.get(server.url("/login"))
            response = browser.post(
                server.url("/login"),
                data={
                    "username": person["username"],
                    "password": "wrong password!",
                    "csrf_token": CSRF.search(page.text).group(1),
                },
            )  # type: ignore[union-attr]
            statuses.append(response.status_code)
    assert statuses[:5] == [401] * 5 and 429 in statuses[6:]


def _listening(server: LiveServer) -> bool:
    """Wait (bounded) until the worker's cache listener is up: it starts with the worker's lifespan."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if httpx.get(server.url("/readyz"), timeout=30).json()["checks"].get("invalidation") == "listening":
            return True
    return False


def test_revocations_by_the_cli_are_refused_by_both_workers_at_once(workers: tuple[LiveServer, LiveServer]) -> None:
    """Issue 14 "refused at once", with real processes: both workers listen for invalidations and have
    answered from their caches; ``genba admin revoke-token`` and ``genba admin disable-client`` (a third
    process) return only when both have applied the change, so the very next request to either is refused."""
    a, b = workers
    assert _listening(a) and _listening(b)
    client = a.create_client(
        name="入退場管理", redirect_uris=["https://gate.example.jp/cb"], grant_types=["client_credentials"]
    )
    auth = (client["client_id"], client["client_secret"])
    token = httpx.post(a.url("/token"), data={"grant_type": "client_credentials"}, auth=auth, timeout=30)
    access_token = token.json()["access_token"]
    for server in (a, b, a, b):
        introspected = httpx.post(server.url("/introspect"), data={"token": access_token}, auth=auth, timeout=30)
        assert introspected.json()["active"] is True
    a.genba("admin", "revoke-token", access_token)
    for server in (a, b):
        introspected = httpx.post(server.url("/introspect"), data={"token": access_token}, auth=auth, timeout=30)
        assert introspected.json() == {"active": False}
    a.genba("admin", "disable-client", client["client_id"])
    for server in (a, b):
        refused = httpx.post(server.url("/token"), data={"grant_type": "client_credentials"}, auth=auth, timeout=30)
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, html
    return found.group(1)


def _confirmed(browser: httpx.Client, server: LiveServer, action: str, form: dict[str, str]) -> httpx.Response:
    """The employer page's form on ``server``, then the confirmation it answers with."""
    page = browser.get(server.url("/employer/technicians"))
    asked = browser.post(server.url(action), data={"csrf_token": _csrf(page.text), **form})
    assert asked.status_code == 200 and 'name="confirm" value="yes"' in asked.text, asked.text
    again = {"csrf_token": _csrf(asked.text), **form, "confirm": "yes"}
    return browser.post(server.url(action), data=again, follow_redirects=False)


def _client_token(server: LiveServer, auth: tuple[str, str]) -> int:
    return httpx.post(
        server.url("/token"), data={"grant_type": "client_credentials"}, auth=auth, timeout=30
    ).status_code


def test_revocations_on_the_employer_page_are_refused_by_both_workers_at_once(
    workers: tuple[LiveServer, LiveServer],
) -> None:
    """Issue 14 "refused at once" through a person's page, with real processes: the employer's
    administrator rotates its system's secret (「シークレットを再発行」) and ends its technician's
    affiliation (「所属を終了」) on one worker; the very next request to either worker is refused — the
    old secret at /token, the system's token at the data API — and the new secret works on both."""
    a, b = workers
    assert _listening(a) and _listening(b)
    employer, technician = "31000000000018", "10000000000035"
    a.create_employer(employer_id=employer, trade_name="株式会社 山田工務店")
    admin = a.create_staff(employer_id=employer, login="admin", display_name="山田 花子", role="admin")
    a.create_technician(technician_id=technician, name="佐藤 三郎", kana="サトウ サブロウ", with_totp=False)
    a.link_affiliation(technician_id=technician, employer_id=employer, start="2020-04-01")
    system = a.create_client(
        name="給与システム",
        redirect_uris=["https://payroll.example.jp/cb"],
        grant_types=["client_credentials"],
        owner_employer_id=employer,
    )
    auth = (system["client_id"], system["client_secret"])
    issued = httpx.post(a.url("/token"), data={"grant_type": "client_credentials"}, auth=auth, timeout=30)
    bearer = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    record = f"/api/v1/technicians/{technician}"
    for server in (a, b, a, b):
        assert httpx.get(server.url(record), headers=bearer, timeout=30).status_code == 200
        assert _client_token(server, auth) == 200
    with httpx.Client(timeout=30) as browser:
        _sign_in(browser, a, admin["username"], admin["password"], admin["totp_secret"])
        shown = _confirmed(browser, a, "/employer/systems/rotate-secret", {"client_id": system["client_id"]})
        assert shown.status_code == 200, shown.text
        new = (system["client_id"], shown.text.split('id="client-secret">')[1].split("<")[0])
        for server in (b, a):
            assert _client_token(server, auth) == 401
            assert _client_token(server, new) == 200
        yesterday = (local_date(datetime.now(UTC)) - timedelta(days=1)).isoformat()
        form = {"technician_id": technician, "end_date": yesterday}
        ended = _confirmed(browser, a, "/employer/technicians/end-affiliation", form)
        assert ended.status_code == 303, ended.text
    for server in (b, a):
        assert httpx.get(server.url(record), headers=bearer, timeout=30).status_code == 403
