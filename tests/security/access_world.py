"""The world the access-control matrix (issue 12, "An access-control matrix test") is probed in, built
over a real server with the real ``genba`` CLI and HTTP, and every kind of caller in it.

The subject of every probe is one technician (``T``) and what belongs to him: he works for ``E``
(since 2020) and worked for ``E_PAST`` before; he is assigned to ``SITE``, whose prime contractor
is ``PRIME`` (the demo's 東京ゼネコン, whose gate staff run its gate) and whose orderer is ``ORDERER``.
``OTHER_PRIME`` runs another site. Each kind of caller is one :class:`Caller`: a signed-in cookie
jar (with its CSRF token) or an ``Authorization`` header.

CLI calls are independent processes, so each wave of them runs in parallel (SQLite serialises the
writers with its busy timeout, PostgreSQL does not need to).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from joserfc.jwk import ECKey

from tests.support.http_user import Credentials, HttpUser, csrf_of
from tests.support.oidc import dpop_proof
from tests.support.rp import code_flow, details
from tests.support.server import CLI_TIMEOUT_SECONDS, LiveServer

E = "31000000000018"  # 株式会社 山田工務店 (demo), T's current employer
E_PAST = "31000000000026"  # 佐藤鉄筋 (demo), T's former employer
PRIME = "31000000000034"  # 株式会社 東京ゼネコン (demo), prime of SITE
OTHER_PRIME = "31000000000042"
SITE = "GENBA-AM-0001"
OTHER_SITE = "GENBA-AM-0002"
ORDERER = "ORD-AM"
PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
RP_REDIRECT = "https://rp.example/cb"
#: RFC 7591 §3 initial access token: dynamic registration is on only with one (GENBA_REGISTRATION_TOKEN_SHA256)
INITIAL_ACCESS_TOKEN = "matrix-initial-access-token"
SERVER_ENV = {"GENBA_REGISTRATION_TOKEN_SHA256": hashlib.sha256(INITIAL_ACCESS_TOKEN.encode()).hexdigest()}


@dataclass
class Caller:
    """One kind of caller: its cookies and CSRF token (a signed-in person) or its Authorization header."""

    name: str
    cookies: httpx.Cookies = field(default_factory=httpx.Cookies)
    csrf: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    server: LiveServer
    callers: dict[str, Caller]
    #: values for the path parameters and bodies of the probes: technician_id, site_id, ...
    values: dict[str, str]
    users: list[HttpUser]

    def close(self) -> None:
        for user in self.users:
            user.close()


#: Runs ``genba`` commands in one process (the same Typer commands the console script runs), so the
#: world costs one interpreter start instead of one per command.
_BATCH = """
import contextlib, io, json, sys
from app.cli import cli
outputs = []
for argv in json.load(sys.stdin):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        cli(args=argv, prog_name="genba", standalone_mode=False)
    outputs.append(buffer.getvalue())
sys.stdout.write(json.dumps(outputs))
"""


def genba_batch(server: LiveServer, *commands: list[str]) -> list[Any]:
    """Run each ``genba`` command (with ``--json``) against the server's database; their JSON outputs."""
    result = subprocess.run(
        [sys.executable, "-c", _BATCH],
        input=json.dumps([[*command, "--json"] for command in commands]),
        env=server.env,
        cwd=server.tmp,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, f"genba batch failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return [json.loads(output) for output in json.loads(result.stdout)]


def _parallel(*calls: Callable[[], Any]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=3) as pool:
        return [f.result() for f in [pool.submit(call) for call in calls]]


def _credentials(data: dict[str, Any]) -> Credentials:
    return Credentials(data["username"], data["password"], data["totp_secret"])


def _client_token(server: LiveServer, client: dict[str, Any]) -> str:
    answer = httpx.post(
        server.url("/token"),
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _dpop_token(server: LiveServer, client: dict[str, Any]) -> str:
    """A client_credentials token bound to a key (RFC 9449 §5); the matrix presents it without a proof."""
    key = ECKey.generate_key("P-256")
    proof = dpop_proof(key, "POST", server.url("/token"), now=datetime.now(UTC))
    answer = httpx.post(
        server.url("/token"),
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
        headers={"DPoP": proof},
        timeout=30,
    )
    assert answer.status_code == 200 and answer.json()["token_type"].lower() == "dpop", answer.text
    return str(answer.json()["access_token"])


def _wallet_token(server: LiveServer, made: dict[str, Any], impersonated: str) -> str:
    """The holder's token from the pre-authorized code grant (OpenID4VCI §6.1), redeemed as hole 1's
    attacker did: with ``client_id`` set to the employer's own system (client ids are public). The
    grant authenticates the holder only, so the token must act as no client (the matrix checks where
    it is accepted); a server that refuses the client_id instead is also safe, and then the token is
    redeemed without it."""
    code = httpx.get(made["offer_uri"], timeout=30).json()["grants"][PRE_AUTH]["pre-authorized_code"]
    form = {"grant_type": PRE_AUTH, "pre-authorized_code": code, "tx_code": made["tx_code"]}
    answer = httpx.post(server.url("/token"), data={**form, "client_id": impersonated}, timeout=30)
    if answer.status_code in (400, 401) and answer.json().get("error") in ("invalid_client", "invalid_request"):
        answer = httpx.post(server.url("/token"), data=form, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _register(server: LiveServer) -> dict[str, Any]:
    """A dynamically registered client (RFC 7591), for /register/{client_id} (RFC 7592)."""
    answer = httpx.post(
        server.url("/register"),
        json={"redirect_uris": [RP_REDIRECT], "client_name": "登録試験"},
        headers={"Authorization": f"Bearer {INITIAL_ACCESS_TOKEN}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    data: dict[str, Any] = answer.json()
    return data


def _signed_in(server: LiveServer, name: str, who: Credentials) -> tuple[Caller, HttpUser]:
    user = HttpUser(server, who).sign_in()
    page = user.get("/login")  # any page with a form: the CSRF token is per browser
    return Caller(name, cookies=user.http.cookies, csrf=csrf_of(page.text)), user


def _consent_id(user: HttpUser) -> str:
    """The id of the newest consent on the technician's inbox."""
    found = re.findall(r'action="/consent/([^/"]+)/revoke"', user.get("/consent").text)
    assert found, "no consent on the technician's inbox"
    return found[0]


def _commands(subject_id: str, other_id: str, tag: str) -> dict[str, list[str]]:
    """The ``genba`` commands that build the world, by name, in the order they run."""
    technician = ["admin", "create-technician", "--kana", "ヤマダ タロウ", "--birth-date", "1985-04-12", "--gender"]
    technician += ["male", "--address", "東京都江東区東陽4-5-6", "--phone", "090-1234-5678", "--with-totp"]
    staff = ["admin", "create-staff", "--display-name", "試験 担当", "--with-totp", "--employer-id"]
    client = ["admin", "create-client", "--redirect-uri", RP_REDIRECT, "--name"]
    system = ["--grant-type", "client_credentials"]
    site = ["admin", "create-site", "--name", "試験現場", "--starts-on", "2020-01-01", "--site-id"]
    link = ["admin", "link-affiliation", "--technician-id"]
    other_prime = ["--employer-id", OTHER_PRIME, "--trade-name", "他社ゼネコン", "--address", "東京都港区1-1-1"]
    assign = ["--site-id", SITE, "--technician-id", subject_id, "--employer-id", E, "--start", "2020-04-01"]
    return {
        "demo": ["demo", "--no-serve"],  # E and its admin, PRIME and its gate staff
        "subject": [*technician, "--technician-id", subject_id, "--name", "山田 太郎"],
        "other": [*technician, "--technician-id", other_id, "--name", "佐藤 次郎"],
        "e_staff": [*staff, E, "--login", f"am-staff-{tag}", "--role", "staff"],
        "past_admin": [*staff, E_PAST, "--login", f"am-admin-{tag}", "--role", "admin"],
        "past_staff": [*staff, E_PAST, "--login", f"am-staff-{tag}", "--role", "staff"],
        "operator": ["admin", "create-operator", "--login", f"am-op-{tag}", "--display-name", "運用", "--with-totp"],
        "orderer": ["admin", "create-orderer", "--code", ORDERER, "--name", "発注 試験"],
        "other_prime": ["admin", "create-employer", *other_prime, "--phone", "03-9999-0000"],
        "other_gate": [*staff, OTHER_PRIME, "--login", f"am-gate-{tag}", "--role", "staff"],
        "e_system": [*client, "給与システム", *system, "--owner-employer-id", E],
        "e_hr": [*client, "人事システム", "--owner-employer-id", E],  # E's admin signs in to it (rule 3 API)
        "e_dpop": [*client, "DPoP システム", *system, "--owner-employer-id", E, "--require-dpop"],
        "rp": [*client, "安全書類システム"],
        "other_rp": [*client, "勤怠システム"],  # an RP T signs in to without any consent
        "orderer_system": [
            "admin",
            "create-client",
            "--name",
            "発注者システム",
            *system,
            "--owner-orderer-id",
            ORDERER,
        ],
        "site": [*site, SITE, "--prime-employer-id", PRIME, "--orderer-code", ORDERER],
        "other_site": [*site, OTHER_SITE, "--prime-employer-id", OTHER_PRIME],
        "past_job": [*link, subject_id, "--employer-id", E_PAST, "--start", "2015-04-01"],
        "job": [*link, subject_id, "--employer-id", E, "--start", "2020-04-01"],
        "other_job": [*link, other_id, "--employer-id", E, "--start", "2020-04-01"],
        "on_site": ["admin", "add-site-company", "--site-id", SITE, "--employer-id", E, "--parent-employer-id", PRIME],
        "assign": ["admin", "assign", *assign],
        "redeemed_offer": ["credentials", "offer", "--technician-id", subject_id],
        "offer": ["credentials", "offer", "--technician-id", subject_id],  # for GET /wallet/offers/{offer_id}
    }


def build_world(server: LiveServer) -> World:
    tag = secrets.token_hex(3)
    subject_id, other_id = f"4{secrets.randbelow(10**13):013d}", f"4{secrets.randbelow(10**13):013d}"
    commands = _commands(subject_id, other_id, tag)
    out = dict(zip(commands, genba_batch(server, *commands.values()), strict=True))
    demo = {a["username"]: Credentials(a["username"], a["password"], a["totp_secret"]) for a in out["demo"]}
    e_system, e_dpop, rp, other_rp = out["e_system"], out["e_dpop"], out["rp"], out["other_rp"]
    wallet_token = _wallet_token(server, out["redeemed_offer"], impersonated=e_system["client_id"])
    offer_id = urlsplit(out["offer"]["offer_uri"]).path.rsplit("/", 1)[1]

    people = {
        "technician_self": _credentials({**out["subject"], "username": subject_id}),
        "technician_other": _credentials({**out["other"], "username": other_id}),
        "employer_admin": demo[f"{E}-admin"],
        "employer_staff": _credentials(out["e_staff"]),
        "past_employer_admin": _credentials(out["past_admin"]),
        "past_employer_staff": _credentials(out["past_staff"]),
        "gate_prime": demo[f"{PRIME}-gate"],
        "gate_other_prime": _credentials(out["other_gate"]),
        "operator": _credentials(out["operator"]),
    }
    signed = _parallel(*[lambda n=n, w=w: _signed_in(server, n, w) for n, w in people.items()])  # type: ignore[misc]
    callers: dict[str, Caller] = {"anonymous": Caller("anonymous")}
    callers.update({caller.name: caller for caller, _ in signed})
    users = {caller.name: user for caller, user in signed}

    # the technician's own tokens: at an RP with a consent he and his employer approved, at one without
    entry = {"type": "genba_technician_data", "groups": ["qualifications"], "purpose": "安全書類の作成"}
    me = users["technician_self"]
    consented = code_flow(me, rp, scope="openid", authorization_details=details(entry))["access_token"]
    consent_id = _consent_id(me)
    admin = callers["employer_admin"]
    approved = httpx.post(
        server.url(f"/consent/{consent_id}/approve"),
        data={"csrf_token": admin.csrf},
        cookies=admin.cookies,
        timeout=30,
    )
    assert approved.status_code == 303, (approved.status_code, approved.text[:300])
    plain = code_flow(me, other_rp, scope="openid")["access_token"]
    admins = code_flow(users["employer_admin"], out["e_hr"], scope="openid")["access_token"]

    def bearer(name: str, token: str, scheme: str = "Bearer") -> Caller:
        return Caller(name, headers={"Authorization": f"{scheme} {token}"})

    callers.update(
        {
            "orderer": bearer("orderer", _client_token(server, out["orderer_system"])),
            "client_token": bearer("client_token", _client_token(server, e_system)),
            "user_token_consented": bearer("user_token_consented", consented),
            "user_token_unconsented": bearer("user_token_unconsented", plain),
            "employer_admin_token": bearer("employer_admin_token", admins),
            "wallet_token": bearer("wallet_token", wallet_token),
            "dpop_without_proof": bearer("dpop_without_proof", _dpop_token(server, e_dpop), "DPoP"),
        }
    )
    registered = _register(server)
    gate = callers["gate_prime"]
    made = httpx.post(
        server.url("/gate/requests"),
        json={"site_id": SITE},
        headers={"Origin": server.base_url, "Sec-Fetch-Site": "same-origin"},
        cookies=gate.cookies,
        timeout=30,
    )
    assert made.status_code == 200, made.text
    sessions = re.findall(r'action="/account/sessions/([^/"]+)/revoke"', me.get("/account").text)
    assert len(sessions) == 1, sessions
    values = {
        "technician_id": subject_id,
        "employer_id": E,
        "site_id": SITE,
        "consent_id": consent_id,
        "offer_id": offer_id,
        "client_id": registered["client_id"],
        "rp_client_id": rp["client_id"],
        "e_system_client_id": e_system["client_id"],
        "request_id": made.json()["request_id"],
        "period_end": (date.today() + timedelta(days=365)).isoformat(),  # at most 2 years (consent engine)
        "prefix": sessions[0],  # T's own session: revoking it is T's last act (access_matrix.py)
    }
    return World(server=server, callers=callers, values=values, users=list(users.values()))
