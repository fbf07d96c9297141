"""Does Genba ID stay as fast with 1,000,000 technicians as with 10,000?

Two throw-away PostgreSQL databases: a small one (``--small`` technicians, default 10,000) and a
large one (``--technicians``, default 1,000,000), each with employers and clients in the same
proportion (300,000 and 20,000 per million technicians unless ``--employers`` / ``--clients`` say
otherwise), seeded with COPY (``bench.bulk``; the seed time is reported). Each gets its own
``genba serve --workers 2``; both run at once and are measured in turn, small and large alternating
(ABBA over ``--rounds``) so that whatever else the machine does weighs on both alike:

- signin: password + TOTP sign-ins (``bench.signin``'s four requests) over technicians with TOTP
  spread through the whole table, ``--signin-clients`` in flight;
- token: client_credentials with autocannon, each request authenticating as one of
  ``--token-clients`` clients picked at random from the whole table;
- userinfo: autocannon, each request with the access token of one of ``--userinfo-accounts``
  technicians picked at random, each token got through a full authorization-code + PKCE sign-in.

The large database passes if each p99 (median over the rounds) is within ``GOAL_FACTOR`` (1.5×) of
the small one's.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import math
import random
import secrets
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from bench import machine_info, timestamp
from bench import signin as signin_bench
from bench.bulk import REDIRECT_URI, Seeded, plain_url, seed
from bench.connectors import PG_ADMIN_URL, database
from bench.flows import OpenIdProvider, full_flow
from bench.flows import client as flow_client
from bench.loadgen import Scenario, busy_note, load, load_average, log_errors
from bench.processes import genba_serve
from bench.server import LiveServer, genba_env
from bench.signin import AccountPool, argon2_params, percentile
from idp.passwords import Passwords

DESCRIPTION = "p99 of sign-in, token and userinfo with 1M technicians vs 10k (PostgreSQL, COPY seeding)"
GOAL_FACTOR = 1.5
PER_MILLION = {"employers": 300_000, "clients": 20_000}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
METRICS = ("signin", "token", "userinfo")
console = Console(stderr=True, highlight=False)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--technicians", type=int, default=1_000_000, help="technicians in the large database (default 1,000,000)")
    add("--employers", type=int, help="employers in the large database (default 300,000 per million technicians)")
    add("--clients", type=int, help="clients in the large database (default 20,000 per million technicians)")
    add("--small", type=int, default=10_000, help="technicians in the small database (default 10,000)")
    add("--totp-accounts", type=int, default=4000, help="technicians with TOTP in each database (default 4000)")
    add("--signin-clients", type=int, default=8, help="sign-ins in flight (default 8)")
    add("--token-clients", type=int, default=1000, help="clients the token requests take turns with (default 1000)")
    add("--userinfo-accounts", type=int, default=64, help="technicians whose tokens userinfo takes turns with (64)")
    add("--connections", type=int, default=50, help="autocannon connections (default 50)")
    add("--duration", type=float, default=10.0, help="measured seconds per measurement (default 10)")
    add("--warmup", type=float, default=3.0, help="warm-up seconds before each measurement (default 3)")
    add("--workers", type=int, default=2, help="genba serve --workers (default 2)")
    add("--rounds", type=int, default=2, help="measurements per metric and database, alternating (default 2)")
    add("--pg-admin-url", default=PG_ADMIN_URL, help=f"to create/drop the databases ({PG_ADMIN_URL})")


def sizes(args: argparse.Namespace) -> dict[str, dict[str, int]]:
    def scaled(technicians: int) -> dict[str, int]:
        return {"technicians": technicians} | {k: max(1, technicians * v // 1_000_000) for k, v in PER_MILLION.items()}

    large = scaled(args.technicians)
    large |= {k: getattr(args, k) for k in PER_MILLION if getattr(args, k) is not None}
    return {"small": scaled(args.small), "large": large}


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


async def tokens_for(op: OpenIdProvider, pool: AccountPool, password: str, count: int) -> list[str]:
    """Access tokens of ``count`` technicians, each through a full sign-in, eight at a time."""
    gate = asyncio.Semaphore(8)

    async def one() -> str:
        async with gate, flow_client(op) as http:
            person = pool.take()
            try:
                return str((await full_flow(http, op, person, password))["access_token"])
            finally:
                pool.give_back(person)

    return list(await asyncio.gather(*(one() for _ in range(count))))


@dataclass
class Target:
    """One database and its server, ready to measure."""

    name: str
    server: LiveServer
    pool: AccountPool  # technicians with TOTP, in random order (spread over the whole table)
    scenarios: dict[str, Scenario]  # token and userinfo, for autocannon


def prepare(name: str, server: LiveServer, seeded: Seeded, password: str, args: argparse.Namespace) -> Target:
    people = list(seeded.people)
    random.shuffle(people)
    pool = AccountPool(people)
    picked = random.sample(seeded.clients, min(args.token_clients, len(seeded.clients)))
    first = httpx.post(server.base_url + "/token", data={"grant_type": "client_credentials"}, auth=picked[0])
    if first.status_code != 200:  # one request first: the signing key is made once, not by racing requests
        raise RuntimeError(f"POST /token answered {first.status_code}: {first.text[:300]}")
    issuer = "http://localhost:" + server.base_url.rsplit(":", 1)[1]
    op = OpenIdProvider(name, server.base_url, issuer, "/authorize", *picked[0], REDIRECT_URI)
    console.print(f"{name}: {args.userinfo_accounts} full sign-ins for userinfo tokens …")
    bearer = asyncio.run(tokens_for(op, pool, password, args.userinfo_accounts))
    auth = [{"headers": {"Authorization": basic(c, s)}} for c, s in picked]
    token = Scenario("token", "/token", "POST", FORM, "grant_type=client_credentials", auth)
    userinfo = Scenario(
        "userinfo", "/userinfo", variants=[{"headers": {"Authorization": f"Bearer {t}"}} for t in bearer]
    )
    return Target(name, server, pool, {"token": token, "userinfo": userinfo})


def measure(target: Target, metric: str, password: str, args: argparse.Namespace) -> dict[str, Any]:
    if metric != "signin":
        return load(
            target.server.base_url,
            target.scenarios[metric],
            connections=args.connections,
            warmup=args.warmup,
            duration=args.duration,
            pid=target.server.process.pid,
        )
    options = argparse.Namespace(clients=args.signin_clients, warmup=args.warmup, duration=args.duration)
    done = asyncio.run(signin_bench.drive(target.server, target.pool, password, options))
    latencies = done["latencies"]
    return {
        "requests_per_second_mean": done["signins"] / done["window_seconds"],
        "latency_ms": {"p50": percentile(latencies, 50) * 1000, "p99": percentile(latencies, 99) * 1000},
        "total": done["signins"],
        "server_cpu_cores": done["server_cpu_seconds"] / done["window_seconds"],
        "failures": len(done["failures"]) + (0 if latencies else 1),
        "errors": done["failures"][:5],
    }


def summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Median p50 / p99 and mean throughput over the rounds; every round kept."""
    return {
        "latency_ms": {p: statistics.median(r["latency_ms"][p] for r in rounds) for p in ("p50", "p99")},
        "requests_per_second_mean": statistics.fmean(r["requests_per_second_mean"] for r in rounds),
        "failures": sum(r["failures"] for r in rounds),
        "rounds": rounds,
    }


def database_size(url: str) -> float:
    import psycopg

    with psycopg.connect(plain_url(url)) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return float(row[0]) / 2**20 if row else math.nan


def run(args: argparse.Namespace) -> dict[str, Any]:
    before = load_average()
    params = argon2_params()
    secret_key, password = secrets.token_urlsafe(36), secrets.token_urlsafe(18)
    password_hash = Passwords(**params).hash(password)
    runs: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        targets: dict[str, Target] = {}
        for name, rows in sizes(args).items():
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"genba-bench-scale-{name}-")))
            url = stack.enter_context(database("postgresql", workdir, args.pg_admin_url))
            console.print(f"{name}: seeding {rows} with COPY …")
            every = max(1, rows["technicians"] // args.totp_accounts)
            seeded = seed(url, **rows, totp_every=every, master=secret_key.encode(), password_hash=password_hash)
            copy_seconds = sum(v for k, v in seeded.seconds.items() if k != "vacuum analyze")
            runs[name] = {
                "rows": rows,
                "totp_accounts": len(seeded.people),
                "seed_seconds": seeded.seconds | {"total": sum(seeded.seconds.values())},
                "seed_rows_per_second": sum(seeded.rows.values()) / copy_seconds,
                "database_mib": database_size(url),
            }
            console.print(f"  seeded in {runs[name]['seed_seconds']['total']:.1f} s")
            env = genba_env(
                {"GENBA_ENVIRONMENT": "test", "GENBA_DATABASE_URL": url, "GENBA_SECRET_KEY": secret_key}
                | {"GENBA_SECRET_FILE": str(workdir / "secret.key"), "GENBA_REDIS_URL": "redis://127.0.0.1:6379/0"}
                | {f"GENBA_ARGON2_{key.upper()}": str(value) for key, value in params.items()}
            )
            server = stack.enter_context(genba_serve(env, workdir, args.workers))
            targets[name] = prepare(name, server, seeded, password, args)
        measured: dict[str, dict[str, list[dict[str, Any]]]] = {name: {} for name in targets}
        for metric in METRICS:
            for round_ in range(args.rounds):
                order = ("small", "large") if round_ % 2 == 0 else ("large", "small")  # ABBA: drift cancels
                for name in order:
                    console.print(f"{metric}, round {round_ + 1}: {name} …")
                    measured[name].setdefault(metric, []).append(measure(targets[name], metric, password, args))
        for name, target in targets.items():
            runs[name]["results"] = {metric: summary(rounds) for metric, rounds in measured[name].items()}
            runs[name]["server_log_errors"] = log_errors(target.server.log_tail(10**9))
    comparison = {
        metric: runs["large"]["results"][metric]["latency_ms"]["p99"]
        / runs["small"]["results"][metric]["latency_ms"]["p99"]
        for metric in METRICS
    }
    within = {metric: ratio <= GOAL_FACTOR for metric, ratio in comparison.items()}
    failures = {
        f"{size}/{m}": r["failures"] for size, run_ in runs.items() for m, r in run_["results"].items() if r["failures"]
    }
    report(runs, comparison, within)
    note = busy_note(before)
    if note:
        console.print(f"[yellow]note[/]: {note}")
    config = {k: getattr(args, k) for k in ("totp_accounts", "signin_clients", "token_clients", "userinfo_accounts")}
    config |= {k: getattr(args, k) for k in ("connections", "duration", "warmup", "workers", "rounds")}
    return {
        "benchmark": "scale",
        "timestamp": timestamp(),
        "ok": not failures,
        "machine": machine_info(),
        "argon2": {"type": "argon2id", **params},
        "config": config | {"database": "postgresql (throw-away)", "goal_factor": GOAL_FACTOR},
        "runs": runs,
        "p99_large_to_small": comparison,
        "p99_within_goal": within,
        "goal_met": all(within.values()),
        "failures": failures,
        "load_average": {"before": before, "after": load_average(), "note": note},
    }


def report(runs: dict[str, Any], comparison: dict[str, float], within: dict[str, bool]) -> None:
    small, large = runs["small"], runs["large"]
    title = f"Scale: {large['rows']['technicians']:,} vs {small['rows']['technicians']:,} technicians (PostgreSQL)"
    table = Table(title=title, caption="seed: COPY of every table, then VACUUM ANALYZE; rows/s of the COPY alone")
    for column in ("measure", "small p50 / p99 ms", "large p50 / p99 ms", "small / large req/s", "p99 large ÷ small"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for metric in METRICS:
        s, g = small["results"][metric], large["results"][metric]
        verdict = "[green]within[/]" if within[metric] else "[red]over[/]"
        table.add_row(
            metric,
            f"{s['latency_ms']['p50']:.0f} / {s['latency_ms']['p99']:.0f}",
            f"{g['latency_ms']['p50']:.0f} / {g['latency_ms']['p99']:.0f}",
            f"{s['requests_per_second_mean']:.0f} / {g['requests_per_second_mean']:.0f}",
            f"{comparison[metric]:.2f}× {verdict} {GOAL_FACTOR:g}×",
        )
    for name, run_ in (("small", small), ("large", large)):
        seconds = run_["seed_seconds"]
        table.add_row(
            f"seed {name}",
            f"{seconds['total']:.1f} s",
            f"{run_['seed_rows_per_second']:,.0f} rows/s",
            f"{run_['database_mib']:.0f} MiB",
            "",
        )
    Console().print(table)
