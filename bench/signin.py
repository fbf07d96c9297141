"""Full password + TOTP sign-ins per second per core, against a real server process.

A ``uvicorn --factory app.asgi:create`` process (one worker) serves a freshly migrated database
seeded with technician accounts; C asyncio clients drive the four sign-in requests
(GET/POST /login, GET/POST /login/otp) with a fresh cookie jar each. Sign-ins completed in the
measured window are divided by the server's CPU time (/proc utime+stime) over that window.
Reference figures from the same run: raw argon2id verifies per second on one core, and
Keycloak's sizing guide (15 password logins per second per vCPU).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import re
import secrets
import ssl
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher, Type
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import insert
from sqlalchemy.engine import make_url
from sqlmodel import col

from app.database import make_engine, upgrade
from app.settings import Settings
from bench import machine_info, timestamp
from bench.accounting import percentile
from bench.server import LiveServer, genba_env, running_server
from idp import totp
from idp.models import Account, AccountKind, Affiliation, Employer, Technician
from idp.passwords import Passwords
from idp.runtime import SystemRandomness, token_urlsafe
from idp.secretbox import SecretBox

DESCRIPTION = "password + TOTP sign-ins per second per core (real server, argon2id at the configured cost)"
KEYCLOAK_LOGINS_PER_VCPU = 15.0  # Keycloak "Concepts for sizing CPU and memory resources"
GOAL_FACTOR = 2.0
ARGON2_SETTINGS = ("memory_kib", "time_cost", "parallelism")  # GENBA_ARGON2_*, as Passwords takes them
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
REQUEST_TIMEOUT = 30.0
console = Console(stderr=True, highlight=False)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--accounts", type=int, default=2000, help="technician accounts to seed (default 2000)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent sign-ins (default 4)")
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds (default 15)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before measuring (default 3)")
    parser.add_argument("--argon2-seconds", type=float, default=3.0, help="raw argon2id loop length (default 3)")
    parser.add_argument(
        "--database-url",
        help="a throw-away database, e.g. postgresql+psycopg://…/bench (default: SQLite in a temporary directory)",
    )


@dataclass
class Person:
    username: str
    totp_secret: str
    last_step: int = -1  # TOTP step of the last code sent; a code is accepted once per step


class AccountPool:
    """First in, first out; an account comes back only after its sign-in ended and a new TOTP step began."""

    def __init__(self, people: list[Person]) -> None:
        self._idle = deque(people)

    def take(self) -> Person:
        step = int(time.time()) // totp.STEP_SECONDS
        if not self._idle or self._idle[0].last_step >= step:
            raise RuntimeError("every account was used in this TOTP step; seed more with --accounts")
        return self._idle.popleft()

    def give_back(self, person: Person) -> None:
        self._idle.append(person)


def argon2_params() -> dict[str, int]:
    """The service's argon2 settings: GENBA_ARGON2_* if set here, else the defaults (OWASP minimum)."""
    fields = Settings.model_fields
    return {n: int(os.environ.get(f"GENBA_ARGON2_{n.upper()}", fields[f"argon2_{n}"].default)) for n in ARGON2_SETTINGS}


def seed(url: str, count: int, master: bytes, password_hash: str, *, employer_id: str | None = None) -> list[Person]:
    """Insert ``count`` technicians sharing one password hash, each with its own sealed TOTP secret;
    with ``employer_id``, that company (created) employs them all (so its own systems read their
    standard claims: they leave only through the consent engine)."""
    rng = SystemRandomness()
    box, now = SecretBox(master, "totp", rng), datetime.now(UTC)
    first = 9 * 10**13 + secrets.randbelow(9 * 10**12)  # random 14-digit ids: no clash in a reused database
    people = [Person(f"{first + i:014d}", totp.new_secret(rng)) for i in range(count)]
    kind = AccountKind.technician.value
    common: dict[str, Any] = {"kind": kind, "email": None, "display_name": "試験 太郎", "disabled": False}
    common |= {"password_hash": password_hash, "password_changed_at": now, "totp_last_step": None, "created_at": now}
    accounts = [
        common
        | {"username": p.username, "totp_secret_enc": box.seal(p.totp_secret.encode())}
        | {"webauthn_user_handle": rng.token_bytes(32)}
        for p in people
    ]
    if "subject" in Account.__table__.columns:  # type: ignore[attr-defined]  # OIDC subject, as _new_account sets
        for row in accounts:
            row["subject"] = token_urlsafe(rng, 16)
    profile: dict[str, Any] = {"name": "試験 太郎", "name_kana": "シケン タロウ", "gender": "unspecified"}
    profile |= {"birth_date": date(1990, 1, 1), "address": "東京都千代田区1-1", "phone": "03-0000-0000"}
    profile |= {"face_photo": None, "created_at": now}
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            rows = conn.execute(insert(Account).returning(col(Account.id), col(Account.username)), accounts)
            ids = {username: pk for pk, username in rows}
            technicians = conn.execute(
                insert(Technician).returning(col(Technician.id)),
                [profile | {"technician_id": p.username, "account_id": ids[p.username]} for p in people],
            ).all()
            if employer_id is not None:
                company: dict[str, Any] = {"employer_id": employer_id, "trade_name": "試験建設", "address": "港区1-1"}
                company |= {"phone": "03-0000-0000", "sole_proprietor": False, "contact_substitution": False}
                employer_pk = conn.execute(
                    insert(Employer).values(**company, created_at=now).returning(col(Employer.id))
                ).scalar_one()
                since = date(2020, 4, 1)
                conn.execute(
                    insert(Affiliation),
                    [
                        {"technician_pk": pk, "employer_pk": employer_pk, "start_date": since, "created_at": now}
                        for (pk,) in technicians
                    ],
                )
    finally:
        engine.dispose()
    return people


def raw_argon2(params: dict[str, int], seconds: float) -> dict[str, float]:
    """PasswordHasher.verify in a loop on one core: the floor cost of any password sign-in."""
    hasher = PasswordHasher(
        memory_cost=params["memory_kib"], time_cost=params["time_cost"], parallelism=params["parallelism"], type=Type.ID
    )
    stored = hasher.hash("raw argon2 reference")
    count, wall0, cpu0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - wall0 < seconds:
        hasher.verify(stored, "raw argon2 reference")
        count += 1
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {"verifies": count, "seconds": wall, "per_second": count / wall, "per_cpu_second": count / cpu}


def _csrf(response: httpx.Response) -> str:
    match = CSRF_RE.search(response.text)
    if match is None:
        raise RuntimeError(f"{response.request.method} {response.request.url.path}: no CSRF token in the page")
    return match.group(1)


def _expect(response: httpx.Response, status: int, location: str | None = None) -> None:
    where = response.headers.get("location")
    if response.status_code != status or (location is not None and where != location):
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path} answered {response.status_code} "
            f"(location {where!r}), expected {status} {location or ''}: {response.text[:200]!r}"
        )


async def sign_in(base_url: str, person: Person, password: str, tls: ssl.SSLContext) -> None:
    """One browser-like sign-in with its own cookie jar; raises unless it ends 303 → /account."""
    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT, verify=tls) as client:
        page = await client.get("/login")
        _expect(page, 200)
        form = {"username": person.username, "password": password, "csrf_token": _csrf(page)}
        _expect(await client.post("/login", data=form), 303, "/login/otp")
        page = await client.get("/login/otp")
        _expect(page, 200)
        now = datetime.now(UTC)
        person.last_step = int(now.timestamp()) // totp.STEP_SECONDS
        form = {"otp": totp.current_code(person.totp_secret, now=now), "csrf_token": _csrf(page)}
        done = await client.post("/login/otp", data=form)
        _expect(done, 303, "/account")
        if "genba_session" not in done.cookies:
            raise RuntimeError("POST /login/otp set no session cookie")


async def drive(server: LiveServer, pool: AccountPool, password: str, args: argparse.Namespace) -> dict[str, Any]:
    """Keep ``clients`` sign-ins in flight; measure completions and CPU between warm-up and the end."""
    stop, tls = asyncio.Event(), ssl.create_default_context()  # one TLS context, not one per client
    done: list[tuple[float, float]] = []  # (end, latency) of successful sign-ins
    failures: list[str] = []

    async def client() -> None:
        while not stop.is_set():
            try:
                person = pool.take()
            except RuntimeError as exc:
                failures.append(str(exc))
                stop.set()
                return
            started = time.perf_counter()
            try:
                await sign_in(server.base_url, person, password, tls)
                ended = time.perf_counter()
                done.append((ended, ended - started))
            except Exception as exc:
                failures.append(f"{person.username}: {exc}")
            finally:
                pool.give_back(person)

    async def pause(seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)

    tasks = [asyncio.create_task(client()) for _ in range(args.clients)]
    await pause(args.warmup)
    t0, server0, self0 = time.perf_counter(), server.cpu_seconds(), time.process_time()
    await pause(args.duration)
    t1, server1, self1 = time.perf_counter(), server.cpu_seconds(), time.process_time()
    stop.set()
    await asyncio.gather(*tasks)  # in-flight sign-ins finish: their failures count too
    latencies = sorted(lat for end, lat in done if t0 <= end <= t1)
    return {
        "window_seconds": t1 - t0,
        "signins": len(latencies),
        "server_cpu_seconds": server1 - server0,
        "client_cpu_seconds": self1 - self0,
        "latencies": latencies,
        "attempts_including_warmup": len(done) + len(failures),
        "failures": failures,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    params = argon2_params()
    passwords = Passwords(**params)  # refuses anything below the OWASP minimum
    secret_key, password = secrets.token_urlsafe(36), secrets.token_urlsafe(18)
    console.print(f"raw argon2id verify for {args.argon2_seconds:g} s on one core …")
    reference = raw_argon2(params, args.argon2_seconds)
    with tempfile.TemporaryDirectory(prefix="genba-bench-") as tmp:
        workdir = Path(tmp)
        url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
        upgrade(url)
        console.print(f"seeding {args.accounts} technicians with TOTP …")
        pool = AccountPool(seed(url, args.accounts, secret_key.encode(), passwords.hash(password)))
        env = genba_env(
            {
                "GENBA_ENVIRONMENT": "test",
                "GENBA_DATABASE_URL": url,
                "GENBA_SECRET_KEY": secret_key,
                "GENBA_SECRET_FILE": str(workdir / "secret.key"),
            }
            | {f"GENBA_ARGON2_{name.upper()}": str(value) for name, value in params.items()}
        )
        with running_server(env, workdir) as server:
            console.print(f"{args.clients} clients, {args.warmup:g} s warm-up + {args.duration:g} s measured …")
            load = asyncio.run(drive(server, pool, password, args))
            if server.process.poll() is not None:
                load["failures"].append(f"server exited with {server.process.returncode}:\n{server.log_tail()}")
    if not load["signins"]:
        load["failures"].append("no sign-in completed in the measured window")
    latencies, cpu = load.pop("latencies"), load["server_cpu_seconds"]
    per_core = load["signins"] / cpu if cpu > 0 else math.nan
    results = {
        **load,
        "failures": len(load["failures"]),
        "signins_per_server_cpu_second": per_core,
        "signins_per_second": load["signins"] / load["window_seconds"],
        "server_cpu_utilisation": cpu / load["window_seconds"],
        "latency_ms": {"median": percentile(latencies, 50) * 1000, "p99": percentile(latencies, 99) * 1000},
        "raw_argon2_verify": reference,
        "ratio_to_raw_argon2": per_core / reference["per_cpu_second"],
        "keycloak_logins_per_vcpu": KEYCLOAK_LOGINS_PER_VCPU,
        "ratio_to_keycloak": per_core / KEYCLOAK_LOGINS_PER_VCPU,
    }
    results["goal_met"] = results["ratio_to_keycloak"] >= GOAL_FACTOR
    database = make_url(url).render_as_string(hide_password=True) if args.database_url else "sqlite (temporary)"
    config = {name: getattr(args, name) for name in ("accounts", "clients", "duration", "warmup")}
    config |= {"database": database, "server": "uvicorn --factory app.asgi:create --workers 1"}
    report(results, params, load["failures"])
    return {
        "benchmark": "signin",
        "timestamp": timestamp(),
        "ok": not load["failures"],
        "machine": machine_info(),
        "argon2": {"type": "argon2id", **params},
        "config": config,
        "results": results,
        "errors": load["failures"][:20],
    }


def report(r: dict[str, Any], params: dict[str, int], errors: list[str]) -> None:
    raw = r["raw_argon2_verify"]
    table = Table(
        title=f"Sign-in (password + TOTP), argon2id m={params['memory_kib']} KiB "
        f"t={params['time_cost']} p={params['parallelism']}"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    goal = "[green]met[/]" if r["goal_met"] else "[red]not met[/]"
    for name, value in [
        ("full sign-ins per server CPU-second (per core)", f"{r['signins_per_server_cpu_second']:.1f} /s"),
        ("sign-ins per second, wall clock", f"{r['signins_per_second']:.1f} /s"),
        ("sign-ins measured / window", f"{r['signins']} / {r['window_seconds']:.1f} s"),
        ("server CPU used (cores)", f"{r['server_cpu_utilisation']:.2f}"),
        ("load generator CPU (cores)", f"{r['client_cpu_seconds'] / r['window_seconds']:.2f}"),
        ("latency median / p99", f"{r['latency_ms']['median']:.0f} / {r['latency_ms']['p99']:.0f} ms"),
        ("raw argon2id verify, one core", f"{raw['per_cpu_second']:.1f} /s"),
        ("full sign-in / raw argon2id", f"{r['ratio_to_raw_argon2']:.2f}"),
        (
            f"vs Keycloak {KEYCLOAK_LOGINS_PER_VCPU:g}/s per vCPU (goal ≥ {GOAL_FACTOR:g}×)",
            f"{r['ratio_to_keycloak']:.2f}× {goal}",
        ),
        ("failed sign-ins", f"[red]{r['failures']}[/]" if r["failures"] else "0"),
    ]:
        table.add_row(name, value)
    Console().print(table)
    for error in errors[:5]:
        console.print(f"[red]error[/]: {escape(error)}")
