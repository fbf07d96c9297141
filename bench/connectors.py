"""Bulk certificate import: records verified and stored per second, on SQLite and on PostgreSQL.

The reference source runs as its own process (``python -m tools.reference_source --fd N
--bulk R``) on a socket bound here; it is paged through once before measuring, so every record is
already signed (the source signs lazily and keeps the signatures) and the import is not waiting for
the source's signing. For each backend a fresh database — a SQLite file, or a throw-away PostgreSQL
database created and dropped on 127.0.0.1:5432 — is migrated, given the source's bodies as its trust
list and the holders of every record as registered technicians (bulk inserts, one precomputed
argon2id hash), and ``connectors.pipeline.bulk_import`` runs over the whole source with
``BulkSource`` (the code ``genba connectors import mynaportal`` runs), one transaction per page.

Side by side: ES256 verification alone in this process (``joserfc.jws.deserialize_compact`` with the
signer's key), the full record check without the database (``verify_signed_record``: signature,
JSON, mapping), and the figure the issue names as the limit, about 15,000 ES256 verifications per
second per core.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from argon2 import PasswordHasher, Type
from joserfc import jws
from joserfc.jwk import ECKey
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine, func, insert, text
from sqlmodel import Session, col, select

from app.database import make_engine, upgrade
from app.holders import RegisteredHolders
from bench import machine_info, timestamp
from bench.server import genba_env, tree_cpu_seconds
from connectors import pipeline, trust
from connectors.models import Certificate, ImportRun, Quarantine
from connectors.ports import Page
from connectors.sources.mynaportal.client import BulkSource, MyNaPortalClient
from connectors.sources.mynaportal.mapper import to_record
from connectors.verify import Rejection, verify_signed_record
from idp.models import Account, AccountKind, Technician
from idp.runtime import SystemRandomness, token_urlsafe
from tools.reference_source.seed import FIXED_PEOPLE, bulk_records, fixed_records

DESCRIPTION = "bulk certificate import: records verified and stored per second (SQLite, PostgreSQL) vs ES256 alone"
ES256_LIMIT_PER_CORE = 15_000.0  # the issue: "about 15,000 ES256 verifications per second per core"
SEED = 7
CLIENT_ID = "genba-id"
READY_TIMEOUT = 60.0
HTTP_TIMEOUT = 120.0
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
#: The fixed records the source serves that are never imported (bad signature, unknown body, no
#: technician id on 鈴木 一朗's record, expired key, revoked), with 鈴木 一郎 and 髙橋 勇 registered.
FIXED_REJECTED = 5
console = Console(stderr=True, highlight=False)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--records", type=int, default=100_000, help="generated records at the source (default 100000)")
    parser.add_argument("--page-size", type=int, default=1000, help="records per page and transaction (default 1000)")
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql (default both)"
    )
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL, help=f"to create/drop the database ({PG_ADMIN_URL})")
    parser.add_argument("--es256-seconds", type=float, default=3.0, help="ES256-alone loop length (default 3)")


# -- the source process ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    base_url: str
    process: subprocess.Popen[bytes]
    data_dir: Path
    log_path: Path

    @property
    def client_secret(self) -> str:
        return (self.data_dir / "client_secret").read_text(encoding="utf-8").strip()

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@contextlib.contextmanager
def running_source(workdir: Path, records: int) -> Iterator[Source]:
    """The reference source on a socket bound here (no sleeps: requests wait in the backlog)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    data_dir = workdir / "source"
    command = [sys.executable, "-m", "tools.reference_source", "--data-dir", str(data_dir), "--issuer", base_url]
    command += ["--fd", str(sock.fileno()), "--bulk", str(records), "--seed", str(SEED)]
    log_path = workdir / "source.log"
    with log_path.open("wb") as log, sock:
        process = subprocess.Popen(
            command,
            env=genba_env({}),
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=(sock.fileno(),),
        )
    source = Source(base_url, process, data_dir, log_path)
    try:
        try:
            httpx.get(base_url + "/.well-known/oauth-authorization-server", timeout=READY_TIMEOUT).raise_for_status()
        except httpx.HTTPError as exc:
            raise RuntimeError(f"the source did not answer ({exc!r})\n{source.log_tail()}") from exc
        yield source
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def client_for(source: Source, http: httpx.Client) -> MyNaPortalClient:
    return MyNaPortalClient(source.base_url, CLIENT_ID, source.client_secret, timeout=HTTP_TIMEOUT, http=http)


def warm_up(source: Source, page_size: int, keep: int) -> tuple[list[str], dict[str, Any]]:
    """Page through the whole source once (it signs every record on this pass); the first ``keep``
    generated records (all good) are kept as the sample for the in-process verification loops."""
    sample: list[str] = []
    pages, total, fixed = 0, 0, len(fixed_records())
    started, cpu0 = time.perf_counter(), tree_cpu_seconds(source.process.pid)
    with httpx.Client(timeout=HTTP_TIMEOUT) as http:
        bulk = BulkSource(client_for(source, http), limit=page_size)
        cursor: str | None = None
        while True:
            page: Page = bulk.fetch(cursor)
            pages, total = pages + 1, total + len(page.records)
            fresh = page.records[max(0, fixed - (total - len(page.records))) :]  # the fixed ones come first
            sample += fresh[: max(0, keep - len(sample))]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    seconds = time.perf_counter() - started
    cpu = tree_cpu_seconds(source.process.pid) - cpu0
    return sample, {"records": total, "pages": pages, "seconds": seconds, "source_cpu_seconds": cpu}


# -- a database per backend ----------------------------------------------------------------------------


@contextlib.contextmanager
def database(backend: str, workdir: Path, admin_url: str) -> Iterator[str]:
    """A migrated, empty database: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'bench-connectors.sqlite3'}"
        upgrade(url)
        yield url
        return
    if backend != "postgresql":
        raise ValueError(f"unknown backend {backend!r} (sqlite, postgresql)")
    name = f"genba_bench_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        url = f"{base}/{name}"
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def trust_source(url: str, bodies: list[dict[str, Any]]) -> int:
    engine, now, count = make_engine(url), datetime.now(UTC), 0
    try:
        with Session(engine) as session:
            for body in bodies:
                for key in body["keys"]:
                    trust.add(
                        session=session,
                        issuer_id=body["body_id"],
                        name=body["name"],
                        jwk=key["jwk"],
                        valid_from=datetime.fromisoformat(key["valid_from"]) if key["valid_from"] else None,
                        valid_until=datetime.fromisoformat(key["valid_until"]) if key["valid_until"] else None,
                        courses=body["courses"],
                        actor="bench",
                        now=now,
                    )
                    count += 1
            session.commit()
    finally:
        engine.dispose()
    return count


def holders_of(records: int) -> list[dict[str, Any]]:
    """Every holder named by a record at the source: the two fixed people and the generated ones."""
    seen: dict[str, dict[str, Any]] = {}
    for person in FIXED_PEOPLE.values():
        h = person.holder
        seen[str(h.technician_id)] = {"technician_id": h.technician_id, "name": h.name, "birth_date": h.birth_date}
    for spec in bulk_records(SEED, records):
        h = spec.payload["holder"]
        seen.setdefault(h["technician_id"], {k: h[k] for k in ("technician_id", "name", "birth_date")})
    return list(seen.values())


def seed_technicians(url: str, people: list[dict[str, Any]], password_hash: str, chunk: int = 5000) -> float:
    """Accounts and technicians by bulk insert, in chunks; returns the seconds it took."""
    rng, now, started = SystemRandomness(), datetime.now(UTC), time.perf_counter()
    engine = make_engine(url)
    try:
        for at in range(0, len(people), chunk):
            part = people[at : at + chunk]
            accounts = [
                {
                    "kind": AccountKind.technician.value,
                    "username": p["technician_id"],
                    "email": None,
                    "display_name": p["name"],
                    "password_hash": password_hash,
                    "password_changed_at": now,
                    "totp_secret_enc": None,
                    "totp_last_step": None,
                    "webauthn_user_handle": rng.token_bytes(32),
                    "subject": token_urlsafe(rng, 16),
                    "disabled": False,
                    "created_at": now,
                }
                for p in part
            ]
            with engine.begin() as conn:
                rows = conn.execute(insert(Account).returning(col(Account.id), col(Account.username)), accounts)
                ids = {username: pk for pk, username in rows}
                conn.execute(
                    insert(Technician),
                    [
                        {
                            "technician_id": p["technician_id"],
                            "account_id": ids[p["technician_id"]],
                            "name": p["name"],
                            "name_kana": "シケン タロウ",
                            "birth_date": date.fromisoformat(p["birth_date"]),
                            "gender": "unspecified",
                            "address": "東京都千代田区1-1",
                            "phone": "03-0000-0000",
                            "face_photo": None,
                            "face_photo_type": None,
                            "created_at": now,
                        }
                        for p in part
                    ],
                )
    finally:
        engine.dispose()
    return time.perf_counter() - started


@dataclass
class TimedSource:
    """``BulkSource`` with the time spent waiting for pages added up (the rest is verify + store)."""

    inner: BulkSource
    name: str = "mynaportal"
    fetch_seconds: float = 0.0

    def fetch(self, cursor: str | None) -> Page:
        started = time.perf_counter()
        try:
            return self.inner.fetch(cursor)
        finally:
            self.fetch_seconds += time.perf_counter() - started


def import_all(url: str, source: Source, page_size: int, expected_records: int) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        with httpx.Client(timeout=HTTP_TIMEOUT) as http:
            timed = TimedSource(BulkSource(client_for(source, http), limit=page_size))
            wall0, cpu0 = time.perf_counter(), time.process_time()
            src0 = tree_cpu_seconds(source.process.pid)
            report = pipeline.bulk_import(
                engine, timed, holders=RegisteredHolders(engine), clock=lambda: datetime.now(UTC), keep_outcomes=False
            )
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            source_cpu = tree_cpu_seconds(source.process.pid) - src0
            database_cpu = backend_cpu_seconds(engine)
        with Session(engine) as session:
            certificates = int(session.exec(select(func.count()).select_from(Certificate)).one())
            quarantined = Counter(session.exec(select(Quarantine.reason_code)).all())
            runs = [(r.status, r.counts) for r in session.exec(select(ImportRun)).all()]
    finally:
        engine.dispose()
    processed = sum(report.counts.values())
    errors = []
    if processed != expected_records:
        errors.append(f"{processed} records processed, expected {expected_records}")
    if certificates != expected_records - FIXED_REJECTED or report.counts.get("imported") != certificates:
        errors.append(f"{certificates} certificates stored, expected {expected_records - FIXED_REJECTED}")
    if sum(quarantined.values()) != FIXED_REJECTED:
        errors.append(f"quarantine {dict(quarantined)}, expected the {FIXED_REJECTED} bad fixed records")
    if [status for status, _ in runs] != ["finished"]:
        errors.append(f"import runs {runs}")
    return {
        "records": processed,
        "imported": report.counts.get("imported", 0),
        "rejected": report.counts.get("rejected", 0),
        "quarantine_reasons": dict(quarantined),
        "wall_seconds": wall,
        "importer_cpu_seconds": cpu,
        "source_cpu_seconds": source_cpu,
        "fetch_seconds": timed.fetch_seconds,
        "records_per_second": processed / wall,
        "records_per_importer_cpu_second": processed / cpu if cpu > 0 else None,
        "database_cpu_seconds": database_cpu,
        "records_per_importer_and_database_cpu_second": (
            processed / (cpu + database_cpu) if database_cpu is not None else None
        ),
        "verify_and_store_records_per_second": processed / max(wall - timed.fetch_seconds, 1e-9),
        "errors": errors,
    }


def backend_cpu_seconds(engine: Engine) -> float | None:
    """CPU of the PostgreSQL backends serving the import (the engine's pooled connections, still
    open: each backend started for this import), from /proc; None on SQLite or a server elsewhere.
    PostgreSQL's shared processes (WAL writer, checkpointer, autovacuum) are not counted."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).scalars()
        total = 0.0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return None
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


# -- in-process peer figures ---------------------------------------------------------------------------


def keys_by_kid(bodies: list[dict[str, Any]]) -> dict[str, ECKey]:
    return {key["kid"]: ECKey.import_key(key["jwk"]) for body in bodies for key in body["keys"]}


def loop(seconds: float, work: Callable[[str], object], sample: list[str]) -> dict[str, float]:
    """``work`` over the sample, round and round, for ``seconds``: calls per wall and per CPU second."""
    count, wall0, cpu0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - wall0 < seconds:
        for value in sample:
            work(value)
        count += len(sample)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {"calls": count, "seconds": wall, "per_second": count / wall, "per_cpu_second": count / cpu}


def es256_alone(sample: list[str], keys: dict[str, ECKey], seconds: float) -> dict[str, float]:
    """``jws.deserialize_compact`` with the signer's key: parsing, ES256 verification, nothing else."""
    by_value = {value: keys[jws.extract_compact(value.encode()).protected["kid"]] for value in sample}

    def verify(value: str) -> object:
        return jws.deserialize_compact(value, by_value[value], algorithms=["ES256"])

    return loop(seconds, verify, sample)


def record_check_alone(url: str, sample: list[str], seconds: float) -> dict[str, float]:
    """``verify_signed_record`` (kid lookup, ES256, JSON, mapping to CertificateRecord), no database."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            signers = trust.signers(session)
    finally:
        engine.dispose()
    now = datetime.now(UTC)

    def check(value: str) -> object:
        result = verify_signed_record(value, signers, source="mynaportal", now=now, mapper=to_record)
        if isinstance(result, Rejection) and result.code not in ("bad_signature", "unknown_signer"):
            raise RuntimeError(f"unexpected rejection {result.code}")
        return result

    return loop(seconds, check, sample)


# -- the run -------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if args.records < 1 or not 1 <= args.page_size <= 1000:
        raise SystemExit("--records must be >= 1 and --page-size 1..1000")
    total = args.records + len(fixed_records())
    hasher = PasswordHasher(memory_cost=19 * 1024, time_cost=2, parallelism=1, type=Type.ID)
    password_hash = hasher.hash(secrets.token_urlsafe(18))  # one hash for every seeded technician
    results: dict[str, Any] = {"backends": {}}
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="genba-bench-connectors-") as tmp:
        workdir = Path(tmp)
        console.print(f"reference source with {args.records} generated records …")
        with running_source(workdir, args.records) as source:
            bodies = httpx.get(source.base_url + "/api/v1/bodies", timeout=HTTP_TIMEOUT).raise_for_status().json()
            console.print("paging through the source once (it signs every record now) …")
            sample, warm = warm_up(source, args.page_size, keep=2000)
            results["source_warm_up"] = warm | {"records_per_second": warm["records"] / warm["seconds"]}
            if warm["records"] != total:
                errors.append(f"the source served {warm['records']} records, expected {total}")
            people = holders_of(args.records)
            results["technicians"] = len(people)
            for backend in backends:
                console.print(f"[bold]{backend}[/]: migrate, trust list, {len(people)} technicians …")
                with database(backend, workdir, args.pg_admin_url) as url:
                    trusted = trust_source(url, bodies)
                    seeded = seed_technicians(url, people, password_hash)
                    console.print(f"[bold]{backend}[/]: importing {total} records, {args.page_size} per page …")
                    measured = import_all(url, source, args.page_size, total)
                    measured |= {"trusted_keys": trusted, "seed_seconds": seeded}
                    if backend == backends[0]:
                        console.print(f"record check without the database, {args.es256_seconds:g} s …")
                        results["record_check_alone"] = record_check_alone(url, sample, args.es256_seconds)
                results["backends"][backend] = measured
                errors += [f"{backend}: {e}" for e in measured["errors"]]
            if source.process.poll() is not None:
                errors.append(f"the source exited with {source.process.returncode}\n{source.log_tail()}")
        console.print(f"ES256 alone (joserfc), {args.es256_seconds:g} s …")
        results["es256_alone"] = es256_alone(sample, keys_by_kid(bodies), args.es256_seconds)
    results["es256_limit_per_core_from_issue"] = ES256_LIMIT_PER_CORE
    es256 = results["es256_alone"]["per_cpu_second"]
    for measured in results["backends"].values():
        per_cpu = measured["records_per_importer_cpu_second"]
        measured["share_of_es256_alone"] = per_cpu / es256 if per_cpu else None
    report(results, args, errors)
    return {
        "benchmark": "connectors",
        "timestamp": timestamp(),
        "ok": not errors,
        "machine": machine_info(),
        "config": {
            "records": args.records,
            "records_at_source": total,
            "page_size": args.page_size,
            "backends": backends,
            "seed": SEED,
            "source": "python -m tools.reference_source --fd N --bulk R (its own process)",
            "importer": "connectors.pipeline.bulk_import + BulkSource, in this process, one transaction per page",
        },
        "results": results,
        "errors": errors[:20],
    }


def report(r: dict[str, Any], args: argparse.Namespace, errors: list[str]) -> None:
    table = Table(title=f"Bulk import of {args.records + 16:,} signed records ({args.page_size} per page)")
    table.add_column("measure")
    for name in r["backends"]:
        table.add_column(name, justify="right")
    rows: list[tuple[str, str]] = [
        ("records processed (stored + quarantined)", "{records:,} ({imported:,} + {rejected})"),
        ("wall time", "{wall_seconds:.1f} s"),
        ("records verified and stored per second (wall)", "{records_per_second:,.0f} /s"),
        ("… per importer CPU-second (per core)", "{records_per_importer_cpu_second:,.0f} /s"),
        ("PostgreSQL backends' CPU (from /proc)", "{database_cpu}"),
        ("… per importer + database CPU-second", "{with_database}"),
        ("… excluding waits for pages", "{verify_and_store_records_per_second:,.0f} /s"),
        ("importer CPU used (cores)", "{cpu_cores:.2f}"),
        ("waiting for the source", "{fetch_seconds:.1f} s"),
        ("share of ES256 alone (per core)", "{share_pct:.0f} %"),
        ("seeding technicians (bulk insert)", "{seed_seconds:.1f} s"),
    ]
    for label, template in rows:
        cells = []
        for m in r["backends"].values():
            values = m | {
                "cpu_cores": m["importer_cpu_seconds"] / m["wall_seconds"],
                "share_pct": 100 * (m["share_of_es256_alone"] or 0),
                "records_per_importer_cpu_second": m["records_per_importer_cpu_second"] or 0,
                "database_cpu": "—" if m["database_cpu_seconds"] is None else f"{m['database_cpu_seconds']:.1f} s",
                "with_database": "—"
                if m["records_per_importer_and_database_cpu_second"] is None
                else f"{m['records_per_importer_and_database_cpu_second']:,.0f} /s",
            }
            cells.append(template.format(**values))
        table.add_row(label, *cells)
    Console().print(table)
    peers = Table(title="Side by side, in-process (one core)")
    peers.add_column("measure")
    peers.add_column("per CPU-second", justify="right")
    es, check = r["es256_alone"], r.get("record_check_alone")
    peers.add_row("ES256 verification alone (joserfc deserialize_compact)", f"{es['per_cpu_second']:,.0f} /s")
    if check:
        peers.add_row("record check without database (verify_signed_record)", f"{check['per_cpu_second']:,.0f} /s")
    peers.add_row("the issue's limit: ES256 verifications per core", f"≈ {ES256_LIMIT_PER_CORE:,.0f} /s")
    warm = r["source_warm_up"]
    peers.add_row("source: first pass, signing every record", f"{warm['records_per_second']:,.0f} /s (wall)")
    Console().print(peers)
    for error in errors[:5]:
        console.print(f"[red]error[/]: {escape(error)}")
