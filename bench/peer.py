"""Genba ID beside node-oidc-provider 9 on this machine, in one run, under the same load.

Genba ID: ``genba serve --workers 2`` on a throw-away, migrated PostgreSQL database with Redis set
(``GENBA_REDIS_URL``). The peer: ``node bench/node/server.mjs`` (oidc-provider 9, in-memory adapter,
configuration documented in that file). Both run for the whole benchmark; the load is applied to
one at a time (autocannon, ``--connections`` connections, warm-up then ``--duration`` seconds per
scenario): client_credentials token requests, introspection, discovery, userinfo. Then full
authorization-code + PKCE sign-ins (password + TOTP + consent + code exchange) are driven by
``bench.flows`` for ``--flow-duration`` seconds. Resident memory of each process is read from /proc
at rest, under load (peak of samples every 0.5 s) and after the load.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import secrets
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bench import machine_info, timestamp
from bench.connectors import PG_ADMIN_URL, database
from bench.flows import OpenIdProvider, drive, one_flow
from bench.loadgen import (
    RssSampler,
    Scenario,
    busy_note,
    cpu_by_process,
    ensure_node_modules,
    load,
    load_average,
    log_errors,
    process_roles,
    rss_by_role,
)
from bench.processes import create_client, genba_serve, node_peer
from bench.server import LiveServer, genba_env
from bench.signin import AccountPool, Person, argon2_params, percentile, seed
from idp.passwords import Passwords

DESCRIPTION = "Genba ID (genba serve --workers 2, PostgreSQL) vs node-oidc-provider 9: same machine, same load"
REDIRECT_URI = "https://rp.example.jp/cb"
RESOURCE = "urn:genba-bench:api"  # the peer's resource server: client_credentials tokens become ES256 JWTs
SCENARIOS = ("token", "introspection", "discovery", "userinfo", "flow")
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
    add("--redis-url", default="redis://127.0.0.1:6379/0", help="GENBA_REDIS_URL (default redis://127.0.0.1:6379/0)")


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
        else:  # userinfo, with the access token of one full sign-in
            person = self.pool.take()
            tokens = asyncio.run(one_flow(self.op, person, password))
            self.pool.give_back(person)
            headers = {"Authorization": f"Bearer {tokens['access_token']}"}
            scenario, expect = Scenario(name, self.userinfo_path, headers=headers), {"name": "試験 太郎"}
        answer = httpx.request(
            scenario.method, self.server.base_url + scenario.path, headers=scenario.headers, content=scenario.body
        )
        got = answer.json() if answer.status_code == 200 else {}
        if any(got.get(key) != value for key, value in expect.items()):
            raise RuntimeError(f"{self.name} {name}: answered {answer.status_code}: {answer.text[:300]}")
        return scenario


def flows(side: Side, password: str, args: argparse.Namespace) -> dict[str, Any]:
    """Full sign-ins for ``--flow-duration`` seconds; figures named as autocannon's for the same table."""
    pid, roles = side.server.process.pid, process_roles(side.server.process.pid)
    cpu0 = cpu_by_process(roles)
    with RssSampler(roles) as sampler:
        kwargs = {"clients": args.flow_clients, "warmup": args.warmup, "duration": args.flow_duration}
        done = asyncio.run(drive(side.op, side.pool, password, pid=pid, **kwargs))
    by_process = {role: seconds - cpu0.get(role, 0.0) for role, seconds in cpu_by_process(roles).items()}
    latencies, window, cpu = done["latencies"], done["window_seconds"], done["server_cpu_seconds"]
    return {
        "total": done["flows"],
        "seconds": window,
        "requests_per_second_mean": done["flows"] / window,
        "requests_per_second_median": statistics.median(done["per_second"]),
        "latency_ms": {"p50": percentile(latencies, 50) * 1000, "p99": percentile(latencies, 99) * 1000},
        "server_cpu_cores": cpu / window,
        "requests_per_server_cpu_second": done["flows"] / cpu if cpu > 0 else math.nan,
        "driver_cpu_cores": done["driver_cpu_seconds"] / window,
        "server_cpu_seconds_by_process": by_process,  # warm-up included
        "rss_peak_mib": sampler.peak,
        "failures": len(done["failures"]) + (0 if done["flows"] else 1),
        "errors": done["failures"][:5],
    }


def sides_for(
    genba: LiveServer, genba_client: dict[str, Any], node: LiveServer, peer_client: dict[str, Any], people: list[Person]
) -> list[Side]:
    def op(name: str, server: LiveServer, client: dict[str, Any], authorize: str) -> OpenIdProvider:
        issuer = "http://localhost:" + server.base_url.rsplit(":", 1)[1]
        secret = str(client["client_secret"])
        return OpenIdProvider(name, server.base_url, issuer, authorize, str(client["client_id"]), secret, REDIRECT_URI)

    def pool() -> AccountPool:  # each server has its own TOTP replay state, so its own copy of the accounts
        return AccountPool([Person(p.username, p.totp_secret) for p in people])

    cc = "grant_type=client_credentials"
    return [
        Side(
            "genba", genba, op("genba", genba, genba_client, "/authorize"), "/introspect", "/userinfo", cc, cc, pool()
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


def measure(sides: list[Side], wanted: list[str], password: str, args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in wanted:
        results[name] = {}
        for side in sides:
            console.print(f"{name}: {side.name} …")
            if name == "flow":
                results[name][side.name] = flows(side, password, args)
                continue
            results[name][side.name] = load(
                side.server.base_url,
                side.scenario(name, password),
                connections=args.connections,
                warmup=args.warmup,
                duration=args.duration,
                pid=side.server.process.pid,
            )
        genba, peer = results[name]["genba"], results[name]["peer"]
        results[name]["genba_to_peer"] = genba["requests_per_second_median"] / peer["requests_per_second_median"]
        per_cpu = genba["requests_per_server_cpu_second"], peer["requests_per_server_cpu_second"]
        results[name]["genba_to_peer_per_server_cpu_second"] = per_cpu[0] / per_cpu[1] if all(per_cpu) else None
    return results


def run(args: argparse.Namespace) -> dict[str, Any]:
    wanted = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if unknown := set(wanted) - set(SCENARIOS):
        raise ValueError(f"unknown scenarios {sorted(unknown)}; choose from {SCENARIOS}")
    versions = ensure_node_modules()
    before = load_average()
    params = argon2_params()
    secret_key, password = secrets.token_urlsafe(36), secrets.token_urlsafe(18)
    password_hash = Passwords(**params).hash(password)
    memory: dict[str, dict[str, dict[str, float]]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="genba-bench-peer-") as tmp,
        database("postgresql", Path(tmp), args.pg_admin_url) as url,
    ):
        workdir = Path(tmp)
        console.print(f"seeding {args.accounts} technicians with TOTP …")
        # the client is the technicians' employer's own system, so userinfo returns their name as the
        # peer's does (a technician's claims leave only through the consent engine)
        people = seed(url, args.accounts, secret_key.encode(), password_hash, employer_id=BENCH_EMPLOYER)
        env = genba_env(
            {"GENBA_ENVIRONMENT": "test", "GENBA_DATABASE_URL": url, "GENBA_SECRET_KEY": secret_key}
            | {"GENBA_SECRET_FILE": str(workdir / "secret.key"), "GENBA_REDIS_URL": args.redis_url}
            | {f"GENBA_ARGON2_{name.upper()}": str(value) for name, value in params.items()}
        )
        genba_client = create_client(env, workdir, REDIRECT_URI, owner_employer_id=BENCH_EMPLOYER)
        peer_client = {"client_id": "bench-peer", "client_secret": secrets.token_urlsafe(32)}
        accounts = workdir / "peer-accounts.json"
        accounts.write_text(json.dumps([[p.username, p.totp_secret, secrets.token_urlsafe(16)] for p in people]))
        peer_config = {"clients": [peer_client | {"redirect_uri": REDIRECT_URI}], "resource": RESOURCE}
        peer_config |= {"password_hash": password_hash, "accounts_file": str(accounts)}
        peer_config |= {"cookie_key": secrets.token_urlsafe(32)}
        console.print(f"starting genba serve --workers {args.workers} and node-oidc-provider …")
        with genba_serve(env, workdir, args.workers) as genba, node_peer(peer_config, workdir) as node:
            sides = sides_for(genba, genba_client, node, peer_client, people)
            roles = {side.name: process_roles(side.server.process.pid) for side in sides}
            memory["at rest"] = {name: rss_by_role(r) for name, r in roles.items()}
            results = measure(sides, wanted, password, args)
            memory["after the load"] = {name: rss_by_role(r) for name, r in roles.items()}
            logs = {side.name: log_errors(side.server.log_tail(10**9)) for side in sides}
    memory["peak under load"] = {
        side: {role: max(r[side]["rss_peak_mib"].get(role, 0.0) for r in results.values()) for role in roles[side]}
        for side in roles
    }
    failures = {f"{n}/{s}": r[s]["failures"] for n, r in results.items() for s in roles if r[s]["failures"]}
    report(results, memory, failures)
    for side, errors in logs.items():
        if errors:
            console.print(f"{side} log errors: " + escape("; ".join(f"{k} ×{n}" for k, n in errors.items())))
    note = busy_note(before)
    if note:
        console.print(f"[yellow]note[/]: {note}")
    config = {k: getattr(args, k) for k in ("connections", "duration", "warmup", "workers", "accounts")}
    config |= {"flow_clients": args.flow_clients, "flow_duration": args.flow_duration, "redis_url": args.redis_url}
    return {
        "benchmark": "peer",
        "timestamp": timestamp(),
        "ok": not failures,
        "machine": machine_info(),
        "versions": versions,
        "argon2": {"type": "argon2id", **params},
        "config": config | {"database": "postgresql (throw-away)", "genba": f"genba serve --workers {args.workers}"},
        "results": results,
        "memory_mib": memory,
        "failures": failures,
        "server_log_errors": logs,  # e.g. ClientDisconnect when autocannon stops mid-request
        "load_average": {"before": before, "after": load_average(), "note": note},
    }


def _ms(value: float | None) -> str:
    """One decimal, or a dash for a missing figure."""
    return "-" if value is None or not math.isfinite(value) else f"{value:.1f}"


def report(results: dict[str, Any], memory: dict[str, Any], failures: dict[str, int]) -> None:
    table = Table(title="Genba ID (genba serve, PostgreSQL) vs node-oidc-provider 9, same machine and load")
    columns = ("scenario", "server", "req/s median", "p50 ms", "p99 ms", "CPU cores", "per CPU-s", "Genba ÷ peer")
    for column in columns:
        table.add_column(column, justify="left" if column in ("scenario", "server") else "right")
    for name, figures in results.items():
        for side in ("genba", "peer"):
            r = figures[side]
            table.add_row(
                (name + " (flows/s)" if name == "flow" else name) if side == "genba" else "",
                side,
                f"{r['requests_per_second_median']:.0f}",
                _ms(r["latency_ms"]["p50"]),
                _ms(r["latency_ms"]["p99"]),
                f"{r['server_cpu_cores']:.2f}",
                _ms(r["requests_per_server_cpu_second"]),
                f"{figures['genba_to_peer']:.2f}×" if side == "genba" else "",
                end_section=side == "peer",
            )
    Console().print(table)
    rss = Table(title="Resident memory (MiB, /proc VmRSS; PostgreSQL and Redis not included)")
    for column in ("server", "process", *memory):
        rss.add_column(column, justify="left" if column in ("server", "process") else "right")
    for side, roles in memory["at rest"].items():
        for role in roles:
            rss.add_row(side, role, *(f"{memory[when][side].get(role, 0.0):.0f}" for when in memory))
    Console().print(rss)
    spread = []
    for name, figures in results.items():
        workers = {k: v for k, v in figures["genba"]["server_cpu_seconds_by_process"].items() if k.startswith("worker")}
        total = sum(workers.values())
        if total > 0:
            spread.append(f"{name} " + " / ".join(f"{100 * v / total:.0f}%" for v in workers.values()))
    if spread:
        Console().print("Genba CPU time by worker: " + "; ".join(spread))
    for where, count in failures.items():
        console.print(f"[red]failures[/] {escape(where)}: {count}")
