"""Credential issuer benchmark: SD-JWT VCs issued per second (in-process and over HTTP), and the
Token Status List for a million credentials (size compressed, build time).

1. **In-process**: ``wallet.credentials.issue`` in a loop on a migrated SQLite database, one
   transaction per credential as the credential endpoint does (status index allocation, SD-JWT with
   disclosures and decoys, ES256 signature, the row); ES256 signing alone beside it.
2. **Over HTTP**: a real server process (``uvicorn --factory app.asgi:create``, one worker, SQLite);
   ``--clients`` wallets each with their own pre-authorized access token repeat nonce request +
   credential request (one ``jwt`` proof, keys made beforehand), for ``--duration`` seconds after a
   warm-up; credentials per wall-clock second and per server CPU-second.
3. **Status list encoding**: ``wallet.status.encode`` on a synthetic map of 1,000,000 credentials with
   ``--revoked`` (default 1%) INVALID and a tenth of that SUSPENDED, at random indices of lists of
   2^20 entries: DEFLATE-compressed size and time; plus the same for a few other revocation rates.
4. **End to end through StatusPublisher**: the same million credentials bulk-inserted as rows (two
   lists of 2^20 entries, each at most half full as the allocator keeps them), then the signed
   ``statuslist+jwt`` built from the database by ``StatusPublisher.token`` for each list.
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import tempfile
import threading
import time
import zlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine, insert
from sqlmodel import Session

from bench import machine_info, timestamp
from bench.server import genba_env, running_server
from common import jws
from wallet.runtime import WalletRuntime

DESCRIPTION = "credential issuer: SD-JWT VCs per second (in-process, HTTP) and status list size/build time for 1M"
console = Console(stderr=True, highlight=False)
TECHNICIAN_ID = "10000000000019"
SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuv"
LIST_SIZE = 1 << 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inprocess-seconds", type=float, default=5.0, help="in-process issuance loop (default 5)")
    parser.add_argument("--es256-seconds", type=float, default=2.0, help="ES256 signing alone (default 2)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent wallets over HTTP (default 4)")
    parser.add_argument("--warmup", type=float, default=2.0, help="HTTP warm-up seconds (default 2)")
    parser.add_argument("--duration", type=float, default=10.0, help="HTTP measured seconds (default 10)")
    parser.add_argument("--credentials", type=int, default=1_000_000, help="status list population (default 1M)")
    parser.add_argument("--revoked", type=float, default=0.01, help="fraction revoked (default 0.01)")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP benchmark")
    parser.add_argument("--no-e2e", action="store_true", help="skip the database-backed status list build")
    parser.add_argument("--seed", type=int, default=7)


# -- setup -----------------------------------------------------------------------------------------


def _settings(workdir: Path, url: str) -> Any:
    from app.settings import Settings

    return Settings(
        environment="test",
        database_url=url,
        issuer="http://localhost",
        secret_key=SECRET,
        secret_file=workdir / "secret.key",
        logout_retry_seconds=0,
    )


def seed_technician(engine: Engine, now: datetime, technician_id: str = TECHNICIAN_ID) -> None:
    """A technician with an employer and a record: the card then has every claim."""
    from idp import accounts
    from idp.passwords import Passwords
    from tools.world import World

    with Session(engine) as session:
        world = World(session, clock=lambda: now, passwords=Passwords(memory_kib=19 * 1024, time_cost=2, parallelism=1))
        world.technician(technician_id, "鈴木 一郎", password="correct horse battery staple")
        if accounts.find_employer(session=session, employer_id="31000000000018") is None:
            world.employer("31000000000018", "株式会社 山田工務店", address="東京都江東区新砂1-2-3")
        world.affiliation(technician_id, "31000000000018", date(2020, 4, 1)).record(
            technician_id,
            level=3,
            occupations=["とび", "鉄筋"],
            health_insurance="enrolled",
            pension_insurance="enrolled",
            employment_insurance="exempt",
            kentaikyo=True,
        )
        session.commit()


def rate_loop(seconds: float, work: Any) -> dict[str, float]:
    """Call ``work()`` until ``seconds`` pass; rate and per-call latency."""
    latencies: list[float] = []
    start = time.perf_counter()
    end = start + seconds
    while (now := time.perf_counter()) < end:
        work()
        latencies.append(time.perf_counter() - now)
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "count": len(latencies),
        "per_second": len(latencies) / elapsed,
        "median_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000 if len(latencies) >= 100 else max(latencies) * 1000,
    }


# -- 1. in-process ---------------------------------------------------------------------------------


def in_process(workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    from app import database
    from app.factory import create_app
    from wallet import credentials

    url = f"sqlite:///{workdir / 'inprocess.sqlite3'}"
    database.upgrade(url)
    engine = database.make_engine(url)
    app = create_app(_settings(workdir, url), engine=engine)
    runtime = app.state.wallet
    now = runtime.clock()
    seed_technician(engine, now)
    card = runtime.holders.card(TECHNICIAN_ID, now=now)
    claims = credentials.card_claims(card)
    kind = credentials.TYPES[credentials.CARD]
    holders = [ECKey.generate_key("P-256") for _ in range(64)]
    jwks = [(k.as_dict(private=False), k.thumbprint()) for k in holders]
    runtime.keys.current(now)
    counter = iter(range(10**9))
    sizes: list[int] = []

    def issue_one() -> None:
        jwk, jkt = jwks[next(counter) % len(jwks)]
        with Session(engine, expire_on_commit=False) as session:
            issued = credentials.issue(
                session,
                runtime.keys,
                runtime.publisher,
                issuer=runtime.config.issuer,
                kind=kind,
                claims=claims,
                technician_id=TECHNICIAN_ID,
                subject_ref="31000000000018",
                holder_jwk=jwk,
                holder_jkt=jkt,
                notification_id=secrets.token_urlsafe(16),
                now=runtime.clock(),
            )
            session.commit()
        if len(sizes) < 100:
            sizes.append(len(issued.credential))

    console.print(f"in-process issuance (SQLite, one transaction each), {args.inprocess_seconds:g} s …")
    issue_one()  # warm
    issuance = rate_loop(args.inprocess_seconds, issue_one)
    key = runtime.keys.current(now).key
    console.print(f"ES256 signing alone, {args.es256_seconds:g} s …")
    es256 = rate_loop(args.es256_seconds, lambda: jwt.encode({"alg": "ES256"}, {"a": 1}, key, algorithms=["ES256"]))
    raw = key.private_key
    console.print(f"ES256 signing alone with common/jws.py, {args.es256_seconds:g} s …")
    core = rate_loop(args.es256_seconds, lambda: jws.encode_jwt({"alg": "ES256"}, {"a": 1}, raw))
    engine.dispose()
    return {
        "issuance": issuance,
        "es256_sign": es256,
        "es256_sign_core": core,
        "credential_bytes_median": statistics.median(sizes),
    }


# -- 2. over HTTP ----------------------------------------------------------------------------------


def _server_offers(url: str, issuer: str, count: int) -> list[str]:
    """``count`` offers (pre-authorized codes) for the seeded technician, written into the server's
    database; returns the offer URIs."""
    from app import database
    from wallet.offers import create_offer
    from wallet.runtime import WalletConfig

    engine = database.make_engine(url)
    runtime = SimpleNamespace(config=WalletConfig(issuer=issuer), clock=lambda: datetime.now(UTC))
    uris = []
    with Session(engine) as session:
        seed_technician(engine, datetime.now(UTC))
        for _ in range(count):
            offer = create_offer(
                session,
                cast(WalletRuntime, runtime),  # create_offer reads only config and clock
                technician_id=TECHNICIAN_ID,
                configuration_ids=["ccus_card"],
                with_tx_code=False,
            )
            uris.append(offer.offer_uri)
        session.commit()
    engine.dispose()
    return uris


def over_http(workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    from app import database

    url = f"sqlite:///{workdir / 'server.sqlite3'}"
    database.upgrade(url)
    env = genba_env(
        {
            "GENBA_ENVIRONMENT": "test",
            "GENBA_DATABASE_URL": url,
            "GENBA_SECRET_KEY": SECRET,
            "GENBA_SECRET_FILE": str(workdir / "secret.key"),
        }
    )
    with running_server(env, workdir) as server:
        issuer = server.base_url.replace("127.0.0.1", "localhost")
        uris = [u.replace("localhost", "127.0.0.1") for u in _server_offers(url, issuer, args.clients)]
        keys = [ECKey.generate_key("P-256") for _ in range(32)]
        tokens = []
        with httpx.Client(timeout=30) as http:
            # Create the issuer key before the wallets start: concurrent first issuances make two roots
            # (the bug test_two_workers_creating_the_first_issuer_key_at_once_agree_on_one_root shows).
            http.get(f"{server.base_url}/wallet/root.pem").raise_for_status()
            for uri in uris:
                document = http.get(uri).raise_for_status().json()
                code = document["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
                form = {
                    "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
                    "pre-authorized_code": code,
                }
                tokens.append(
                    http.post(f"{server.base_url}/token", data=form).raise_for_status().json()["access_token"]
                )
        stop = threading.Event()
        measuring = threading.Event()
        counts = [0] * args.clients
        failures: list[str] = []
        latencies: list[float] = []

        def wallet(index: int) -> None:
            key = keys[index % len(keys)]
            header = {"typ": "openid4vci-proof+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
            auth = {"Authorization": f"Bearer {tokens[index]}"}
            with httpx.Client(base_url=server.base_url, timeout=30) as http:
                while not stop.is_set():
                    started = time.perf_counter()
                    nonce = http.post("/wallet/nonce").json()["c_nonce"]
                    proof = jwt.encode(
                        header, {"aud": issuer, "iat": int(time.time()), "nonce": nonce}, key, algorithms=["ES256"]
                    )
                    body = {"credential_identifier": "ccus_card", "proofs": {"jwt": [proof]}}
                    response = http.post("/wallet/credential", json=body, headers=auth)
                    if response.status_code != 200 or len(response.json().get("credentials", [])) != 1:
                        failures.append(f"{response.status_code} {response.text[:200]}")
                        return
                    if measuring.is_set():
                        counts[index] += 1
                        latencies.append(time.perf_counter() - started)

        console.print(f"over HTTP: {args.clients} wallets, {args.warmup:g} s warm-up, {args.duration:g} s measured …")
        threads = [threading.Thread(target=wallet, args=(i,), daemon=True) for i in range(args.clients)]
        for thread in threads:
            thread.start()
        stop.wait(args.warmup)
        cpu_before, wall_before = server.cpu_seconds(), time.perf_counter()
        measuring.set()
        stop.wait(args.duration)
        measuring.clear()
        cpu, wall = server.cpu_seconds() - cpu_before, time.perf_counter() - wall_before
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        if failures:
            failures.append(server.log_tail(3000))
    total = sum(counts)
    latencies.sort()
    return {
        "clients": args.clients,
        "credentials": total,
        "per_second_wall": total / wall,
        "per_server_cpu_second": total / cpu if cpu else None,
        "server_cpu_cores": cpu / wall,
        "latency_median_ms": statistics.median(latencies) * 1000 if latencies else None,
        "latency_p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000 if len(latencies) >= 100 else None,
        "failures": failures[:5],
    }


# -- 3. and 4. status lists ------------------------------------------------------------------------


def synthetic(credentials: int, revoked: float, rng: random.Random) -> list[dict[int, int]]:
    """Statuses of ``credentials`` spread over lists of 2^20 at most half full; non-zero entries only."""
    lists = max(1, -(-credentials // (LIST_SIZE // 2)))
    per_list = -(-credentials // lists)
    out = []
    for n in range(lists):
        members = min(per_list, credentials - n * per_list)
        indices = rng.sample(range(LIST_SIZE), members)
        bad = indices[: round(members * revoked)]
        paused = indices[len(bad) : len(bad) + round(members * revoked / 10)]
        out.append({**dict.fromkeys(bad, 1), **dict.fromkeys(paused, 2)})
    return out


def encoding(args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    from wallet import status

    rows = []
    for fraction in sorted({0.001, args.revoked, 0.05}):
        lists = synthetic(args.credentials, fraction, rng)
        start = time.perf_counter()
        blobs = [status.encode(s, LIST_SIZE) for s in lists]
        elapsed = time.perf_counter() - start
        assert all(status.decode(b, i) == v for b, s in zip(blobs, lists, strict=True) for i, v in list(s.items())[:50])
        rows.append(
            {
                "revoked_fraction": fraction,
                "lists": len(lists),
                "non_zero_entries": sum(len(s) for s in lists),
                "compressed_bytes": sum(len(b) for b in blobs),
                "raw_bytes": len(lists) * LIST_SIZE // 4,
                "encode_seconds": elapsed,
                "token_lst_base64url_chars": sum(-(-len(b) * 4 // 3) for b in blobs),
            }
        )
    empty = len(zlib.compress(bytes(LIST_SIZE // 4), 9))
    return {"credentials": args.credentials, "list_size": LIST_SIZE, "rows": rows, "empty_list_bytes": empty}


def end_to_end(workdir: Path, args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    from app import database
    from app.factory import create_app
    from wallet.models import IssuedCredential, StatusList

    url = f"sqlite:///{workdir / 'status.sqlite3'}"
    database.upgrade(url)
    engine = database.make_engine(url)
    app = create_app(_settings(workdir, url), engine=engine)
    publisher = app.state.wallet.publisher
    now = datetime.now(UTC)
    app.state.wallet.keys.current(now)
    lists = synthetic(args.credentials, args.revoked, rng)
    console.print(f"bulk-inserting {args.credentials:,} credentials in {len(lists)} status lists (SQLite) …")
    insert_started = time.perf_counter()
    table = IssuedCredential.__table__  # type: ignore[attr-defined]
    list_ids = []
    serial = 0
    per_list = -(-args.credentials // len(lists))
    for n, statuses in enumerate(lists):
        list_id = f"bench{n:03d}"
        list_ids.append(list_id)
        members = min(per_list, args.credentials - n * per_list)
        indices = list(statuses) + rng.sample(sorted(set(range(LIST_SIZE)) - set(statuses)), members - len(statuses))
        with Session(engine) as session:
            session.add(
                StatusList(id=list_id, bits=2, size=LIST_SIZE, allocated=members, created_at=now, updated_at=now)
            )
            session.commit()
        later = now + timedelta(days=365)
        for chunk in range(0, len(indices), 50_000):
            batch = [
                {
                    "id": f"c{(serial := serial + 1):011d}",
                    "technician_id": TECHNICIAN_ID,
                    "configuration_id": "ccus_card",
                    "status_list_id": list_id,
                    "status_index": index,
                    "status": statuses.get(index, 0),
                    "holder_jkt": "x" * 43,
                    "notification_id": "n",
                    "issued_at": now,
                    "expires_at": later,
                }
                for index in indices[chunk : chunk + 50_000]
            ]
            with engine.begin() as conn:
                conn.execute(insert(table).execution_options(render_nulls=True), batch)
    inserted = time.perf_counter() - insert_started
    console.print("building the signed status lists from the database (StatusPublisher.token) …")
    builds = []
    for list_id in list_ids:
        started = time.perf_counter()
        token = publisher.token(list_id)
        elapsed = time.perf_counter() - started
        assert token is not None
        builds.append({"list": list_id, "build_seconds": elapsed, "token_bytes": len(token)})
    engine.dispose()
    return {"credentials": args.credentials, "insert_seconds": inserted, "lists": builds}


# -- run -------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    result: dict[str, Any] = {
        "benchmark": "wallet",
        "timestamp": timestamp(),
        "machine": machine_info(),
        "parameters": {k: v for k, v in vars(args).items() if k != "benchmark"},
    }
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="genba-bench-wallet-") as tmp:
        workdir = Path(tmp)
        for sub in ("a", "b", "c"):
            (workdir / sub).mkdir()
        for name, step in (
            ("in_process", lambda: in_process(workdir / "a", args)),
            ("http", None if args.no_http else lambda: over_http(workdir / "b", args)),
            ("status_encoding", lambda: encoding(args, rng)),
            ("status_end_to_end", None if args.no_e2e else lambda: end_to_end(workdir / "c", args, rng)),
        ):
            if step is None:
                continue
            try:
                result[name] = step()
            except Exception as exc:  # reported, and the run fails
                errors.append(f"{name}: {type(exc).__name__}: {exc}")
                console.print_exception()
    http_failures = result.get("http", {}).get("failures")
    if http_failures:
        errors.append(f"http: {http_failures[0]}")
    result["errors"] = errors
    result["ok"] = not errors
    report(result, errors)
    return result


def report(r: dict[str, Any], errors: list[str]) -> None:
    table = Table(title="Credential issuance (SD-JWT VC dc+sd-jwt, ES256, CCUS card)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    if "in_process" in r:
        p = r["in_process"]
        table.add_row("in-process credentials / s (SQLite, 1 core)", f"{p['issuance']['per_second']:,.0f}")
        table.add_row(
            "in-process latency median / p99", f"{p['issuance']['median_ms']:.2f} / {p['issuance']['p99_ms']:.2f} ms"
        )
        table.add_row("ES256 signatures / s alone (joserfc)", f"{p['es256_sign']['per_second']:,.0f}")
        if "es256_sign_core" in p:
            table.add_row("ES256 signatures / s alone (common/jws.py)", f"{p['es256_sign_core']['per_second']:,.0f}")
        table.add_row("credential size (median)", f"{p['credential_bytes_median']:,.0f} B")
    if "http" in r:
        h = r["http"]
        table.add_row(f"HTTP credentials / s, wall ({h['clients']} wallets)", f"{h['per_second_wall']:,.1f}")
        if h["per_server_cpu_second"]:
            table.add_row("HTTP credentials / server CPU-second", f"{h['per_server_cpu_second']:,.1f}")
        table.add_row("server CPU used (cores)", f"{h['server_cpu_cores']:.2f}")
        if h["latency_median_ms"]:
            table.add_row("HTTP nonce+credential latency median", f"{h['latency_median_ms']:.1f} ms")
    console.print(table)
    if "status_encoding" in r:
        s = r["status_encoding"]
        lists = Table(title=f"Token Status List for {s['credentials']:,} credentials (2 bits, lists of 2^20)")
        for column in ("revoked", "lists", "non-zero", "compressed", "raw", "encode"):
            lists.add_column(column, justify="right")
        for row in s["rows"]:
            lists.add_row(
                f"{row['revoked_fraction']:.1%}",
                str(row["lists"]),
                f"{row['non_zero_entries']:,}",
                f"{row['compressed_bytes'] / 1024:,.1f} KiB",
                f"{row['raw_bytes'] / 1024:,.0f} KiB",
                f"{row['encode_seconds']:.2f} s",
            )
        console.print(lists)
    if "status_end_to_end" in r:
        e = r["status_end_to_end"]
        built = Table(title=f"StatusPublisher.token from the database ({e['credentials']:,} rows, SQLite)")
        built.add_column("list")
        built.add_column("build", justify="right")
        built.add_column("statuslist+jwt", justify="right")
        for row in e["lists"]:
            built.add_row(row["list"], f"{row['build_seconds']:.2f} s", f"{row['token_bytes'] / 1024:,.1f} KiB")
        console.print(built)
        console.print(f"bulk insert of the rows: {e['insert_seconds']:.1f} s")
    for error in errors:
        console.print(f"[red]error[/]: {escape(error)}")
