"""Bulk import of every record at the source (issue 5: the operators' bulk import — per-batch
transactions with a committed checkpoint, resumable, idempotent; and item 4: every record verified),
against the reference source as a real process with ``--bulk``, on SQLite and PostgreSQL.

The source serves the 16 fixed records and then ``BULK`` generated ones, for holders from
``tools.reference_source.seed.people(SEED, BULK)``; those holders, 鈴木 一郎 and 高橋 勇 are
registered by bulk insert. The end state of an interrupted run — a source failing mid-run, or the
``genba connectors import mynaportal`` process killed with SIGKILL — is compared with the end state
of an uninterrupted run against the same source, and with what the seed says it must be.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from app.holders import RegisteredHolders
from connectors import pipeline, trust
from connectors.models import Certificate, ImportRun, Quarantine
from connectors.sources.mynaportal.client import BulkSource, MyNaPortalClient
from tests.integration.connectors.conftest import (
    BULK,
    CLIENT_ID,
    SEED,
    SUZUKI,
    TAKAHASHI,
    EndState,
    end_state,
    expected_bulk_state,
    forget_imports,
    insert_technicians,
    trust_source,
)
from tests.support.clock import FrozenClock
from tests.support.server import SourceServer, cli_env, run_genba, spawn_genba, start_source, stop_source
from tools.reference_source.seed import people

TOTAL = 16 + BULK
STORED, REJECTED = expected_bulk_state()
assert Counter(bad_signature=1, unknown_signer=1, unknown_holder=1, signer_key_not_valid=1, revoked=1) == REJECTED
CLI_TIMEOUT = 120.0


@pytest.fixture
def holders(
    engine: Engine, db: Session, source: SourceServer, clock: FrozenClock, password_hash: str
) -> RegisteredHolders:
    """The source's bodies trusted; 鈴木 一郎, 高橋 勇 and every generated holder registered."""
    trust_source(engine, source, actor="test", now=clock())
    fixed = [
        {"technician_id": p["technician_id"], "name": p["name"], "name_kana": p["kana"], "birth_date": p["birth"]}
        for p in (SUZUKI, TAKAHASHI)
    ]
    insert_technicians(engine, fixed + people(SEED, BULK), password_hash=password_hash, now=clock())
    return RegisteredHolders(engine)


def client_of(source: SourceServer, http: httpx.Client) -> MyNaPortalClient:
    return MyNaPortalClient(source.base_url, CLIENT_ID, source.client_secret, http=http)


def uninterrupted(engine: Engine, source: SourceServer, holders: RegisteredHolders, clock: FrozenClock) -> EndState:
    """One run from start to end, its end state checked against the seed."""
    with httpx.Client(timeout=30) as http:
        report = pipeline.bulk_import(
            engine, BulkSource(client_of(source, http), limit=100), holders=holders, clock=clock
        )
    assert not report.resumed and report.error is None
    state = end_state(engine)
    check_against_seed(state)
    assert state.run_counts == (("imported", len(STORED)), ("rejected", sum(REJECTED.values())))
    return state


def check_against_seed(state: EndState) -> None:
    assert {row[3] for row in state.certificates} == STORED
    assert len(state.certificates) == len(STORED)  # one certificate per record, no duplicates
    assert state.reasons == REJECTED
    superseded = [row for row in state.certificates if row[4] != "valid"]
    assert [(row[3], row[4], row[5]) for row in superseded] == [("TR-000012", "superseded", "第11-6120号")]


def runs(engine: Engine) -> list[ImportRun]:
    with Session(engine) as session:
        return list(session.exec(select(ImportRun).order_by(col(ImportRun.started_at))).all())


def count(engine: Engine, table: type[Certificate] | type[Quarantine]) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def test_bulk_import_stores_every_good_record_once_and_quarantines_the_rest(
    engine: Engine, source: SourceServer, holders: RegisteredHolders, clock: FrozenClock
) -> None:
    """Issue 5, bulk import and item 4: with every holder registered, a run over the whole source
    stores each verified record once (the reissue superseding its predecessor) and quarantines the
    five bad fixed records with their reasons; a second run finds only duplicates."""
    batches: list[tuple[int, Counter[str]]] = []
    with httpx.Client(timeout=30) as http:
        report = pipeline.bulk_import(
            engine,
            BulkSource(client_of(source, http), limit=100),
            holders=holders,
            clock=clock,
            on_batch=lambda size, batch: batches.append((size, batch)),
        )
        state = end_state(engine)
        check_against_seed(state)
        assert report.counts == Counter({"imported": len(STORED), "rejected": 5})
        assert [size for size, _ in batches] == [100] * (TOTAL // 100) + [TOTAL % 100]
        assert len(report.outcomes) == TOTAL
        [run] = runs(engine)
        assert (run.status, run.cursor, run.error) == ("finished", None, None)

        again = pipeline.bulk_import(
            engine, BulkSource(client_of(source, http), limit=250), holders=holders, clock=clock
        )

    assert again.run_id != report.run_id and not again.resumed
    assert again.counts == Counter({"duplicate": len(STORED), "rejected": 5})
    assert end_state(engine).certificates == state.certificates


def test_a_failing_source_stops_the_run_and_the_next_run_resumes_from_the_checkpoint(
    engine: Engine, source: SourceServer, holders: RegisteredHolders, clock: FrozenClock, tmp_path: Path
) -> None:
    """Issue 5, bulk import: a source that answers 500 after three pages stops the run with a clear
    error after the retries (with backoff); the three committed batches and their checkpoint are
    kept; the next run, against a healthy source, resumes at record 150 and ends exactly as an
    uninterrupted run does."""
    baseline = uninterrupted(engine, source, holders, clock)
    forget_imports(engine)
    failing = start_source(source.data_dir, bulk=BULK, seed=SEED, fail_after=3, log_dir=tmp_path)
    waits: list[float] = []
    try:
        with httpx.Client(timeout=30) as http, pytest.raises(pipeline.ImportFailed) as stopped:
            pipeline.bulk_import(
                engine, BulkSource(client_of(failing, http), limit=50), holders=holders, clock=clock, sleep=waits.append
            )
    finally:
        stop_source(failing)

    assert stopped.value.report.error == "source answered HTTP 500"
    assert waits == [0.5, 1.0, 2.0]
    [run] = runs(engine)
    assert (run.status, run.cursor, run.error) == ("failed", "150", "source answered HTTP 500")
    assert sum(run.counts.values()) == 150
    assert count(engine, Certificate) == run.counts.get("imported", 0) == 150 - 5  # the bad five come first
    assert count(engine, Quarantine) == run.counts["rejected"] == 5

    with httpx.Client(timeout=30) as http:
        resumed = pipeline.bulk_import(
            engine, BulkSource(client_of(source, http), limit=50), holders=holders, clock=clock
        )

    assert resumed.resumed and resumed.run_id == run.id
    assert len(resumed.outcomes) == TOTAL - 150  # nothing fetched twice
    assert end_state(engine) == baseline
    [run] = runs(engine)
    assert (run.status, run.cursor, run.error) == ("finished", None, None)


def test_the_cli_says_clearly_that_a_failing_source_stopped_the_run(
    engine: Engine, source: SourceServer, holders: RegisteredHolders, db_url: str, tmp_path: Path
) -> None:
    """Issue 5, bulk import (progress, and a clear error when the source fails): ``genba connectors
    import mynaportal`` reports each committed batch, then that the source failed, that the committed
    batches are kept and that running it again resumes; it exits with 1."""
    failing = start_source(source.data_dir, bulk=BULK, seed=SEED, fail_after=2, log_dir=tmp_path)
    try:
        env = cli_env(
            db_url,
            tmp_path,
            mynaportal_url=failing.base_url,
            mynaportal_client_secret=failing.client_secret,
            outbound_allow_private="true",  # the source listens on 127.0.0.1 (issue 12 hole 6)
        )
        command = [str(Path(sys.executable).parent / "genba"), "connectors", "import", "mynaportal"]
        done = subprocess.run(
            [*command, "--page-size", "100"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )
    finally:
        stop_source(failing)

    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.count("batch committed: 100 records") == 2
    assert (
        "import stopped: source answered HTTP 500; committed batches are kept — run the same command again to resume"
        in " ".join(done.stdout.split())
    )
    [run] = runs(engine)
    assert (run.status, run.cursor, sum(run.counts.values())) == ("failed", "200", 200)


def test_an_importer_killed_mid_run_resumes_to_the_same_end_state(
    engine: Engine, source: SourceServer, holders: RegisteredHolders, clock: FrozenClock, db_url: str, tmp_path: Path
) -> None:
    """Issue 5, bulk import (a crash, even kill -9, loses nothing and duplicates nothing): the real
    ``genba connectors import mynaportal --page-size 20`` is killed with SIGKILL right after it
    reports its second committed batch; the same command run again resumes the run and ends with
    exactly the certificates, quarantine and counts of an uninterrupted run."""
    baseline = uninterrupted(engine, source, holders, clock)
    forget_imports(engine)
    env = cli_env(
        db_url,
        tmp_path,
        mynaportal_url=source.base_url,
        mynaportal_client_id=CLIENT_ID,
        mynaportal_client_secret=source.client_secret,
        outbound_allow_private="true",  # the source listens on 127.0.0.1 (issue 12 hole 6)
    )
    args = ("connectors", "import", "mynaportal", "--page-size", "20")

    importer = spawn_genba(env, tmp_path, *args)
    committed, seen = 0, []
    try:
        assert importer.stdout is not None
        for line in importer.stdout:
            seen.append(line)
            if line.startswith("batch committed:"):
                committed += 1
                if committed == 2:
                    importer.send_signal(signal.SIGKILL)
                    break
    finally:
        if importer.poll() is None and committed < 2:
            importer.kill()
        code = importer.wait(timeout=CLI_TIMEOUT)
    assert committed == 2, "".join(seen)
    assert code == -signal.SIGKILL

    [killed] = runs(engine)
    assert killed.status == "running"  # it never got to say otherwise
    assert killed.cursor is not None and 40 <= int(killed.cursor) < TOTAL
    assert count(engine, Certificate) == killed.counts.get("imported", 0)
    assert count(engine, Quarantine) == killed.counts.get("rejected", 0)

    done = run_genba(env, tmp_path, *args)

    assert f"(run {killed.id}, resumed)" in done.stdout, done.stdout
    final = end_state(engine)
    assert final == baseline
    [run] = runs(engine)
    assert (run.id, run.status, run.cursor) == (killed.id, "finished", None)
    with Session(engine) as session:
        assert set(session.exec(select(Quarantine.run_id)).all()) == {run.id}


def test_a_run_abandoned_by_restart_is_never_resumed(
    engine: Engine, source: SourceServer, holders: RegisteredHolders, clock: FrozenClock, tmp_path: Path
) -> None:
    """Issue 5, bulk import (``--restart`` starts over instead of resuming): after a failed run was
    abandoned by a restart that finished, the next run is a new run over the whole source, not the
    abandoned one resumed from its old checkpoint."""
    failing = start_source(source.data_dir, bulk=BULK, seed=SEED, fail_after=1, log_dir=tmp_path)
    try:
        with httpx.Client(timeout=30) as http, pytest.raises(pipeline.ImportFailed):
            bulk = BulkSource(client_of(failing, http), limit=50)
            pipeline.bulk_import(engine, bulk, holders=holders, clock=clock, sleep=lambda _: None)
    finally:
        stop_source(failing)
    with httpx.Client(timeout=30) as http:
        clock.advance(minutes=1)
        restarted = pipeline.bulk_import(
            engine, BulkSource(client_of(source, http), limit=100), holders=holders, clock=clock, restart=True
        )
        assert not restarted.resumed
        assert {row[3] for row in end_state(engine).certificates} == STORED
        clock.advance(minutes=1)

        later = pipeline.bulk_import(
            engine, BulkSource(client_of(source, http), limit=100), holders=holders, clock=clock
        )

    assert [r.status for r in runs(engine)] == ["abandoned", "finished", "finished"]
    assert not later.resumed
    assert later.counts == Counter({"duplicate": len(STORED), "rejected": 5})


@pytest.mark.filterwarnings("ignore:You should not use the 'timeout' argument with the TestClient")
def test_a_bulk_run_outlives_the_sources_token_lifetime(
    engine: Engine, db: Session, clock: FrozenClock, tmp_path: Path
) -> None:
    """Issue 5, bulk import (1.75 million technicians: a full run takes longer than any token lives):
    the importer renews its client-credentials token when the source says it expired.

    In-process (Starlette's TestClient is an httpx.Client) because only there can the source's clock
    be moved past the 600 s token lifetime without waiting for it."""
    from fastapi.testclient import TestClient

    from tools.reference_source.app import create_source_app

    now = [1_800_000_000.0]
    app = create_source_app(tmp_path / "source", issuer="http://testserver", bulk=30, clock=lambda: now[0])
    for body in app.state.source.bodies():
        for key in body["keys"]:
            with Session(engine) as session:
                trust.add(
                    session=session,
                    issuer_id=body["body_id"],
                    name=body["name"],
                    jwk=key["jwk"],
                    valid_from=datetime.fromisoformat(key["valid_from"]) if key["valid_from"] else None,
                    valid_until=datetime.fromisoformat(key["valid_until"]) if key["valid_until"] else None,
                    courses=body["courses"],
                    actor="test",
                    now=clock(),
                )
                session.commit()

    def later(size: int, batch: Counter[str]) -> None:
        now[0] += 601  # each page takes "ten minutes"

    with TestClient(app) as http:
        client = MyNaPortalClient("http://testserver", CLIENT_ID, app.state.source.client_secret, http=http)
        report = pipeline.bulk_import(
            engine,
            BulkSource(client, limit=10),
            holders=RegisteredHolders(engine),
            clock=clock,
            on_batch=later,
            sleep=lambda _: None,
        )

    assert len(report.outcomes) == 16 + 30
