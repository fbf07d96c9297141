"""Genba ID beside node-oidc-provider 9 on this machine, in one run, under the same load.

Genba ID: ``genba serve --workers 2`` on a throw-away, migrated PostgreSQL database with Redis set
(``GENBA_REDIS_URL``). The peer: ``node bench/node/server.mjs`` (oidc-provider 9, in-memory adapter,
configuration documented in that file). Both run for the whole benchmark; the load is applied to
one at a time (autocannon, ``--connections`` connections, warm-up then ``--duration`` seconds per
scenario): client_credentials token requests, introspection, discovery, userinfo (Genba: a third
party's client reading CCUS claims under a consent both the technician and the employer approved,
``bench.peer_consent``; the peer: its account claims). Then full
authorization-code + PKCE sign-ins (password + TOTP + consent + code exchange) are driven by
``bench.flows`` for ``--flow-duration`` seconds. Resident memory of each process is read from /proc
at rest, under load (peak of samples every 0.5 s) and after the load.

Accounting (``bench.accounting``): each measured run counts the server's CPU and, for both sides alike,
the CPU of the PostgreSQL backends connected to the benchmark's database and of the benchmark's own
``redis-server``; requests per CPU-second are given for the server alone and for all three. The
scenarios run in ``--rounds`` rounds, the two servers back to back in each (Genba first in even rounds,
the peer first in odd ones); ``bench.peer_report`` takes the medians and prints issue 14's goals table.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import math
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape

from bench import machine_info, timestamp
from bench.accounting import ServiceCpu, cpu_figures, percentile, processes_named
from bench.connectors import PG_ADMIN_URL, database
from bench.flows import OpenIdProvider, drive, one_flow
from bench.loadgen import (
    RssSampler,
    Scenario,
    busy_note,
    collect,
    cpu_by_process,
    ensure_node_modules,
    load,
    load_average,
    log_errors,
    process_roles,
    rss_by_role,
)
from bench.peer_consent import CCUS_DETAILS, CCUS_FIELDS, THIRD_PARTY, approve_as_employer, seed_third_party
from bench.peer_report import combine, report, summary
from bench.processes import create_client, genba_serve, node_peer, redis_server
from bench.server import LiveServer, genba_env
from bench.signin import AccountPool, Person, argon2_params, seed
from idp.passwords import Passwords

DESCRIPTION = "Genba ID (genba serve --workers 2, PostgreSQL) vs node-oidc-provider 9: same machine, same load"
REDIRECT_URI = "https://rp.example.jp/cb"
RESOURCE = "urn:genba-bench:api"  # the peer's resource server: client_credentials tokens become ES256 JWTs
SCENARIOS = ("token", "introspection", "introspection-distinct", "discovery", "jwks", "userinfo", "flow")
SETTLE_SECONDS = 1.0  # idle before each run (see one_run)
DISTINCT_MARGIN = 1.5  # tokens minted for a distinct-token run: this × the repeated run's rate × duration
BENCH_EMPLOYER = "39000000000001"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
console = Console(stderr=True, highlight=False)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--connections", type=int, default=50, help="autocannon connections (default 50)")
    add("--duration", type=float, default=12.0, help="measured seconds per scenario and server (default 12)")
    add("--warmup", type=float, default=3.0, help="warm-up seconds before each measurement (default 3)")
    add("--workers", type=int, default=2, help="genba serve --workers (default 2)")
    add("--accounts", type=int, default=6000, help="technicians with TOTP, also loaded into the peer (default 6000)")
    add("--flow-clients", type=int, default=8, help="sign-ins in flight (default 8)")
    add("--flow-duration", type=float, default=15.0, help="measured seconds of sign-ins per server (default 15)")
    add("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated subset of {','.join(SCENARIOS)}")
    add("--pg-admin-url", default=PG_ADMIN_URL, help=f"to create/drop the database ({PG_ADMIN_URL})")
    add("--rounds", type=int, default=3, help="alternating rounds of every scenario; medians reported (default 3)")
    add("--distinct-tokens", type=int, default=0, help="tokens per distinct-token run (default: from the repeated run)")
    add(
        "--redis-url",
        default="own",
        help="GENBA_REDIS_URL; 'own' (default) starts a private redis-server, so its CPU is the run's alone",
    )


@dataclass
class Side:
    """One provider under test: its process, its client, its endpoints and its own account pool."""

    name: str
    server: LiveServer
    op: OpenIdProvider
    introspect_path: str
    userinfo_path: str
    token_body: str  # client_credentials request body giving an ES256 JWT access token
    opaque_body: str  # client_credentials request body giving a token its introspection accepts
    pool: AccountPool
    #: the client and sign-in of the userinfo scenario (Genba: the third party asking for CCUS data)
    userinfo_op: OpenIdProvider | None = None
    #: what must follow that sign-in before userinfo releases anything (Genba: the employer's approval)
    after_sign_in: Callable[[dict[str, Any]], None] | None = None
    #: top-level members the userinfo answer must have, and the ``ccus`` fields it must carry (no more)
    userinfo_expect: tuple[tuple[str, object], ...] = (("name", "試験 太郎"),)
    userinfo_ccus: tuple[str, ...] = ()

    @property
    def basic(self) -> dict[str, str]:
        pair = f"{self.op.client_id}:{self.op.client_secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}

    def access_token(self, body: str) -> str:
        answer = httpx.post(self.server.base_url + "/token", content=body, headers=self.basic | FORM, timeout=30)
        if answer.status_code != 200 or "access_token" not in answer.json():
            raise RuntimeError(f"{self.name}: POST /token answered {answer.status_code}: {answer.text[:300]}")
        return str(answer.json()["access_token"])

    def scenario(self, name: str, password: str) -> Scenario:
        """The request of a scenario, checked once before the load (status and content)."""
        if name == "token":
            token = self.access_token(self.token_body)
            if token.count(".") != 2:
                raise RuntimeError(f"{self.name}: the client_credentials token is not a JWT")
            return Scenario(name, "/token", "POST", self.basic | FORM, self.token_body)
        if name == "introspection":
            body = "token=" + self.access_token(self.opaque_body)
            scenario = Scenario(name, self.introspect_path, "POST", self.basic | FORM, body)
            expect: dict[str, object] = {"active": True}
        elif name == "discovery":
            scenario, expect = Scenario(name, "/.well-known/openid-configuration"), {"issuer": self.op.issuer}
        elif name == "jwks":
            uri = httpx.get(self.server.base_url + "/.well-known/openid-configuration").json()["jwks_uri"]
            scenario, expect = Scenario(name, "/" + uri.split("/", 3)[3]), {}
        else:  # userinfo, with the access token of one full sign-in
            person = self.pool.take()
            tokens = asyncio.run(one_flow(self.userinfo_op or self.op, person, password))
            self.pool.give_back(person)
            if self.after_sign_in is not None:
                self.after_sign_in(tokens)
            headers = {"Authorization": f"Bearer {tokens['access_token']}"}
            scenario, expect = Scenario(name, self.userinfo_path, headers=headers), dict(self.userinfo_expect)
        answer = httpx.request(
            scenario.method, self.server.base_url + scenario.path, headers=scenario.headers, content=scenario.body
        )
        got = answer.json() if answer.status_code == 200 else {}
        if name == "jwks" and not got.get("keys"):
            raise RuntimeError(f"{self.name} jwks: answered {answer.status_code}: {answer.text[:300]}")
        if any(got.get(key) != value for key, value in expect.items()):
            raise RuntimeError(f"{self.name} {name}: answered {answer.status_code}: {answer.text[:300]}")
        if name == "userinfo" and self.userinfo_ccus and sorted(got.get("ccus", {})) != sorted(self.userinfo_ccus):
            raise RuntimeError(f"{self.name} userinfo: not the consented ccus fields: {answer.text[:300]}")
        return scenario

    def distinct_scenario(self, password: str, count: int, connections: int) -> Scenario:
        """Introspection where every request carries a token never introspected before: ``count`` tokens
        minted beforehand (autocannon, outside the measured window); one is checked and left out."""
        plain = self.scenario("introspection", password)
        mint = Scenario("mint", "/token", "POST", self.basic | FORM, self.opaque_body)
        tokens = collect(self.server.base_url, mint, "access_token", amount=count + 1, connections=connections)
        if len(set(tokens)) != count + 1:
            raise RuntimeError(f"{self.name}: asked for {count + 1} tokens, got {len(set(tokens))} distinct")
        check = httpx.post(
            self.server.base_url + plain.path, content="token=" + tokens.pop(), headers=plain.headers, timeout=30
        )
        if check.status_code != 200 or check.json().get("active") is not True:
            raise RuntimeError(f"{self.name}: a minted token is not active: {check.text[:300]}")
        variants = [{"body": "token=" + token} for token in tokens]
        return replace(plain, name="introspection-distinct", variants=variants, distinct=True)


def flows(side: Side, password: str, args: argparse.Namespace, services: ServiceCpu) -> dict[str, Any]:
    """Full sign-ins for ``--flow-duration`` seconds; figures named as autocannon's for the same table."""
    pid, roles = side.server.process.pid, process_roles(side.server.process.pid)
    cpu0 = cpu_by_process(roles)

    def window(edge: str) -> dict[str, float] | None:
        if edge == "stop":
            return services.stop()
        services.start()
        return None

    with RssSampler(roles) as sampler:
        kwargs = {"clients": args.flow_clients, "warmup": args.warmup, "duration": args.flow_duration}
        done = asyncio.run(drive(side.op, side.pool, password, pid=pid, window=window, **kwargs))
    by_process = {role: seconds - cpu0.get(role, 0.0) for role, seconds in cpu_by_process(roles).items()}
    latencies, window_s, cpu = done["latencies"], done["window_seconds"], done["server_cpu_seconds"]
    db = done["services"]
    return {
        "total": done["flows"],
        "seconds": window_s,
        "requests_per_second_mean": done["flows"] / window_s,
        "requests_per_second_median": statistics.median(done["per_second"]),
        "latency_ms": {"p50": percentile(latencies, 50) * 1000, "p99": percentile(latencies, 99) * 1000},
        **db,
        **cpu_figures(done["flows"], window_s, cpu, db["postgres_seconds"], db["redis_seconds"]),
        "driver_cpu_cores": done["driver_cpu_seconds"] / window_s,
        "server_cpu_seconds_by_process": by_process,  # warm-up included
        "rss_peak_mib": sampler.peak,
        "failures": len(done["failures"]) + (0 if done["flows"] else 1),
        "errors": done["failures"][:5],
    }


def sides_for(
    genba: LiveServer,
    genba_clients: tuple[dict[str, Any], dict[str, Any]],
    node: LiveServer,
    peer_client: dict[str, Any],
    people: list[Person],
    database_url: str,
) -> list[Side]:
    """Genba's two clients: the employer's own system (sign-in flows) and the third party's (userinfo)."""

    def op(name: str, server: LiveServer, client: dict[str, Any], authorize: str, **more: Any) -> OpenIdProvider:
        issuer = "http://localhost:" + server.base_url.rsplit(":", 1)[1]
        secret, client_id = str(client["client_secret"]), str(client["client_id"])
        return OpenIdProvider(name, server.base_url, issuer, authorize, client_id, secret, REDIRECT_URI, **more)

    def employer_approves(tokens: dict[str, Any]) -> None:
        details = tokens.get("authorization_details") or [{}]
        if "consent_id" not in details[0]:
            raise RuntimeError(f"genba: the third party's token relies on no consent: {details}")
        approve_as_employer(database_url, BENCH_EMPLOYER, str(details[0]["consent_id"]))

    def pool() -> AccountPool:  # each server has its own TOTP replay state, so its own copy of the accounts
        return AccountPool([Person(p.username, p.totp_secret) for p in people])

    cc = "grant_type=client_credentials"
    employer_client, third_party_client = genba_clients
    third_party = op("genba", genba, third_party_client, "/authorize", extra=(("authorization_details", CCUS_DETAILS),))
    return [
        Side(
            "genba",
            genba,
            op("genba", genba, employer_client, "/authorize"),
            "/introspect",
            "/userinfo",
            cc,
            cc,
            pool(),
            userinfo_op=third_party,
            after_sign_in=employer_approves,
            userinfo_ccus=CCUS_FIELDS,
        ),
        Side(
            "peer",
            node,
            op("peer", node, peer_client, "/auth"),
            "/token/introspection",
            "/me",
            f"{cc}&resource={RESOURCE}",
            cc,
            pool(),
        ),
    ]


def distinct_count(args: argparse.Namespace, repeated: dict[str, Any] | None) -> int:
    """Tokens to mint for a distinct-token run: ``--distinct-tokens``, or enough for
    ``DISTINCT_MARGIN`` × the same server's repeated-token rate of this round over the measured run
    (a distinct-token run is not faster than a repeated-token one) plus one in flight per connection."""
    if args.distinct_tokens:
        return int(args.distinct_tokens)  # argparse gives Any
    rate = float(repeated["requests_per_second_mean"]) if repeated else 2000.0
    duration, connections = float(args.duration), int(args.connections)
    return math.ceil(DISTINCT_MARGIN * rate * duration) + connections + 100


def one_run(
    side: Side, name: str, password: str, args: argparse.Namespace, services: ServiceCpu, done: dict[str, Any]
) -> dict[str, Any]:
    """One measured run of one scenario on one server; ``done`` holds this round's earlier runs.

    Starts with ``SETTLE_SECONDS`` idle, so that what the previous run left behind (requests still
    answering, pool connections being closed) is not counted in this one."""
    time.sleep(SETTLE_SECONDS)
    if name == "flow":
        return flows(side, password, args, services)
    if name == "introspection-distinct":
        count = distinct_count(args, done.get("introspection", {}).get(side.name))
        scenario = side.distinct_scenario(password, count, args.connections)
    else:
        scenario = side.scenario(name, password)
    return load(
        side.server.base_url,
        scenario,
        connections=args.connections,
        warmup=args.warmup,
        duration=args.duration,
        pid=side.server.process.pid,
        services=services,
    )


def measure(
    sides: list[Side], wanted: list[str], password: str, args: argparse.Namespace, services: ServiceCpu
) -> list[dict[str, Any]]:
    """``--rounds`` rounds of every scenario on both servers, back to back: A B in even rounds, B A in odd
    ones, so both see the same machine state and neither always goes first."""
    rounds: list[dict[str, Any]] = []
    for number in range(args.rounds):
        order = sides if number % 2 == 0 else sides[::-1]
        done: dict[str, Any] = {}
        for name in wanted:
            done[name] = {}
            for side in order:
                console.print(f"round {number + 1}/{args.rounds} {name}: {side.name} …")
                done[name][side.name] = one_run(side, name, password, args, services, done)
        rounds.append(done)
    return rounds


def run(args: argparse.Namespace) -> dict[str, Any]:
    wanted = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if unknown := set(wanted) - set(SCENARIOS):
        raise ValueError(f"unknown scenarios {sorted(unknown)}; choose from {SCENARIOS}")
    wanted = [name for name in SCENARIOS if name in wanted]  # the repeated-token run sizes the distinct one
    versions = ensure_node_modules()
    before = load_average()
    params = argon2_params()
    secret_key, password = secrets.token_urlsafe(36), secrets.token_urlsafe(18)
    password_hash = Passwords(**params).hash(password)
    memory: dict[str, dict[str, dict[str, float]]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="genba-bench-peer-") as tmp,
        database("postgresql", Path(tmp), args.pg_admin_url) as url,
        own_or_shared_redis(args.redis_url, Path(tmp)) as (redis_url, redis_pids),
    ):
        workdir = Path(tmp)
        console.print(f"seeding {args.accounts} technicians with TOTP …")
        # sign-in flows: the client is the technicians' employer's own system; userinfo: a third party's
        # client under two-party consent (bench.peer_consent), which releases the name as the peer does
        people = seed(url, args.accounts, secret_key.encode(), password_hash, employer_id=BENCH_EMPLOYER)
        seed_third_party(url, [p.username for p in people])
        env = genba_env(
            {"GENBA_ENVIRONMENT": "test", "GENBA_DATABASE_URL": url, "GENBA_SECRET_KEY": secret_key}
            | {"GENBA_SECRET_FILE": str(workdir / "secret.key"), "GENBA_REDIS_URL": redis_url}
            | {f"GENBA_ARGON2_{name.upper()}": str(value) for name, value in params.items()}
        )
        genba_clients = (
            create_client(env, workdir, REDIRECT_URI, owner_employer_id=BENCH_EMPLOYER),
            create_client(env, workdir, REDIRECT_URI, owner_employer_id=THIRD_PARTY),
        )
        peer_client = {"client_id": "bench-peer", "client_secret": secrets.token_urlsafe(32)}
        accounts = workdir / "peer-accounts.json"
        accounts.write_text(json.dumps([[p.username, p.totp_secret, secrets.token_urlsafe(16)] for p in people]))
        peer_config = {"clients": [peer_client | {"redirect_uri": REDIRECT_URI}], "resource": RESOURCE}
        peer_config |= {"password_hash": password_hash, "accounts_file": str(accounts)}
        peer_config |= {"cookie_key": secrets.token_urlsafe(32)}
        services = ServiceCpu(args.pg_admin_url, url.rsplit("/", 1)[1], redis_pids)
        console.print(f"starting genba serve --workers {args.workers} and node-oidc-provider …")
        with genba_serve(env, workdir, args.workers) as genba, node_peer(peer_config, workdir) as node:
            sides = sides_for(genba, genba_clients, node, peer_client, people, url)
            roles = {side.name: process_roles(side.server.process.pid) for side in sides}
            memory["at rest"] = {name: rss_by_role(r) for name, r in roles.items()}
            rounds = measure(sides, wanted, password, args, services)
            memory["after the load"] = {name: rss_by_role(r) for name, r in roles.items()}
            logs = {side.name: log_errors(side.server.log_tail(10**9)) for side in sides}
    runs = [one[name][side] for one in rounds for name in wanted for side in roles]
    memory["peak under load"] = {
        side: {role: max(run["rss_peak_mib"].get(role, 0.0) for run in runs) for role in roles[side]} for side in roles
    }
    results = combine(rounds)
    rows = summary(results, memory)
    failures = {f"{n}/{s}": r[s]["failures"] for n, r in results.items() for s in roles if r[s]["failures"]}
    report(results, memory, rows, args.rounds)
    for where, count in failures.items():
        console.print(f"[red]failures[/] {escape(where)}: {count}")
    for side, errors in logs.items():
        if errors:
            console.print(f"{side} log errors: " + escape("; ".join(f"{k} ×{n}" for k, n in errors.items())))
    note = busy_note(before)
    if note:
        console.print(f"[yellow]note[/]: {note}")
    config = {k: getattr(args, k) for k in ("connections", "duration", "warmup", "workers", "accounts", "rounds")}
    config |= {"flow_clients": args.flow_clients, "flow_duration": args.flow_duration, "redis_url": args.redis_url}
    config |= {"distinct_tokens": args.distinct_tokens or "from the repeated run"}
    return {
        "benchmark": "peer",
        "timestamp": timestamp(),
        "ok": not failures,
        "machine": machine_info(),
        "versions": versions,
        "argon2": {"type": "argon2id", **params},
        "config": config | {"database": "postgresql (throw-away)", "genba": f"genba serve --workers {args.workers}"},
        "accounting": ACCOUNTING,
        "goals": rows,
        "results": results,
        "memory_mib": memory,
        "failures": failures,
        "server_log_errors": logs,  # e.g. ClientDisconnect when autocannon stops mid-request
        "load_average": {"before": before, "after": load_average(), "note": note},
    }


@contextlib.contextmanager
def own_or_shared_redis(redis_url: str, workdir: Path) -> Iterator[tuple[str, list[int]]]:
    """``own``: a private redis-server, its pid the only one counted; a URL: that Redis, and every
    ``redis-server`` process of the machine counted (an upper bound when others share it)."""
    if redis_url != "own":
        yield redis_url, sorted(processes_named({"redis-server"}))
        return
    with redis_server(workdir) as (url, pid):
        yield url, [pid]


ACCOUNTING = (
    "CPU seconds from /proc/<pid>/stat (utime+stime) over each measured run: the server's process tree; "
    "the PostgreSQL backends connected to the benchmark's database (pg_stat_activity, sampled every "
    "0.2 s; background processes and other databases not attributed, recorded as postgres_other_seconds); "
    "the redis-server process(es). requests_per_cpu_second = requests / (server + postgres + redis); "
    "ratios are medians of the per-round Genba / peer ratios."
)
