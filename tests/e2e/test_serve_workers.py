"""``genba serve --workers 2`` (issue 8, item 3): each worker listens on its own SO_REUSEPORT socket, so
new connections are spread over the workers by the kernel instead of piling up on whichever worker
wins the accept races of one shared socket; SIGTERM stops them gracefully; a worker that dies takes
the service down (non-zero exit) rather than leaving it half-served.

Which worker answered is read the test's own way, without any production endpoint telling: the
server runs in prometheus_client's multiprocess mode with a metrics directory chosen here, where
each worker process keeps its counters in files named after its PID.
"""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from tests.e2e.test_local_topology import STOP_TIMEOUT_SECONDS, Lines, free_ports, group_gone, group_members
from tests.support.server import SECRET_KEY

pytestmark = pytest.mark.e2e
START_TIMEOUT_SECONDS = 120.0
GENBA = str(Path(sys.executable).parent / "genba")
FRESH_CONNECTIONS = 40


@dataclass
class Served:
    process: subprocess.Popen[str]
    output: Lines
    port: int
    metrics: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """``genba serve --workers 2`` on a free port and a fresh SQLite database, both workers started."""
    (port,) = free_ports(1)
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("GENBA_")}
    env |= {
        "GENBA_ENVIRONMENT": "test",
        "GENBA_DATABASE_URL": f"sqlite:///{tmp_path / 'genba.sqlite3'}",
        "GENBA_ISSUER": f"http://localhost:{port}",
        "GENBA_SECRET_KEY": SECRET_KEY,
        "GENBA_SECRET_FILE": str(tmp_path / "secret.key"),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        "PYTHONUNBUFFERED": "1",
    }
    subprocess.run([GENBA, "db", "upgrade"], env=env, cwd=tmp_path, check=True, capture_output=True, timeout=120)
    process = subprocess.Popen(
        [GENBA, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: every worker can be found and must be gone
    )
    output = Lines(process)
    try:
        output.wait_for("Application startup complete", timeout=START_TIMEOUT_SECONDS)
        output.wait_for("Application startup complete", timeout=START_TIMEOUT_SECONDS)  # the second worker
        yield Served(process, output, port, metrics)
    finally:
        if group_members(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT_SECONDS)


def answered_by_worker(metrics: Path, route: str) -> Counter[int]:
    """Requests to ``route`` counted by each worker process, from its own counter file."""
    counts: Counter[int] = Counter()
    for path in glob.glob(str(metrics / "counter_*.db")):
        pid = int(Path(path).stem.removeprefix("counter_"))
        for metric in MultiProcessCollector.merge([path], accumulate=False):
            for sample in metric.samples:
                if sample.name == "genba_http_requests_total" and sample.labels.get("route") == route:
                    counts[pid] += int(sample.value)
    return counts


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])  # fields after "(comm)": state ppid ...


def test_fresh_connections_reach_both_workers_and_sigterm_stops_them(served: Served) -> None:
    """Each of many new connections is answered, and both workers answered some (with one socket
    per worker the kernel hashes each connection to one of them; the chance that 40 land on the
    same worker is 2 in 2^40). SIGTERM: both finish gracefully and the command exits 0."""
    for _ in range(FRESH_CONNECTIONS):
        with httpx.Client(timeout=10) as client:  # a new TCP connection each time
            assert client.get(served.url("/healthz")).status_code == 200
    workers = {pid for pid in group_members(served.process.pid) if parent_of(pid) == served.process.pid}
    for pid in workers:  # issue 14, memory per worker: glibc arenas bounded in every worker
        assert b"MALLOC_ARENA_MAX=2\0" in Path(f"/proc/{pid}/environ").read_bytes(), pid

    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=STOP_TIMEOUT_SECONDS) == 0, served.output.text()
    assert group_gone(served.process.pid), "a worker outlived the server"
    assert served.output.text().count("Application shutdown complete") == 2
    # Counted once both workers have finished gracefully: a worker adds to its counter after the
    # response has gone out, so a count read while it runs can be one short (seen in CI: 39 of 40).
    counts = answered_by_worker(served.metrics, "/healthz")
    assert sum(counts.values()) == FRESH_CONNECTIONS
    assert len(counts) == 2 and min(counts.values()) > 0, counts
    assert set(counts) <= workers  # the workers of this command


def test_a_worker_that_dies_stops_the_service_with_a_non_zero_exit(served: Served) -> None:
    """Operations: a worker killed from outside is not silently lost; the supervisor stops the other
    worker and exits non-zero, so whatever runs it (Docker, systemd) restarts the whole service."""
    for _ in range(FRESH_CONNECTIONS):
        with httpx.Client(timeout=10) as client:
            client.get(served.url("/healthz"))
    victim, survivor = sorted(answered_by_worker(served.metrics, "/healthz"))
    os.kill(victim, signal.SIGKILL)
    assert served.process.wait(timeout=STOP_TIMEOUT_SECONDS) != 0
    assert group_gone(served.process.pid), "the other worker outlived the server"
    assert f"worker [{victim}] exited" in served.output.text()
    assert f"Finished server process [{survivor}]" in served.output.text()  # stopped gracefully


def test_workers_stop_when_the_supervisor_is_killed(served: Served) -> None:
    """Operations: SIGKILL to the supervisor (OOM killer, a hard stop) leaves no orphaned worker serving
    on the shared port; each gets SIGTERM from the kernel (PR_SET_PDEATHSIG) and shuts down gracefully."""
    workers = [pid for pid in group_members(served.process.pid) if parent_of(pid) == served.process.pid]
    assert len(workers) >= 2
    os.kill(served.process.pid, signal.SIGKILL)
    served.process.wait(timeout=STOP_TIMEOUT_SECONDS)
    assert group_gone(served.process.pid), "a worker outlived its supervisor"
    assert served.output.text().count("Application shutdown complete") == 2  # graceful, not killed
