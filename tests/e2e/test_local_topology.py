"""docker/run-local.sh: the compose topology without Docker — two ``genba serve`` workers on one
PostgreSQL database and one Redis behind a round-robin proxy — starts, balances, and stops on SIGTERM.

The script runs against a throw-away PostgreSQL database (it creates it; the test drops it) and a
Redis server of its own on a free port. Nothing sleeps: the script prints its URLs once every
process answers, the test waits for that line, then talks HTTP with timeouts.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

from tests.support.backends import PG_ADMIN_URL

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "docker" / "run-local.sh"
DOCKERFILE = REPO / "docker" / "Dockerfile"
START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 45.0
READY_LINE = "Press Ctrl-C to stop."


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports that nothing listens on right now (all held open while choosing)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class Lines:
    """A child's merged stdout/stderr, read by a thread so the pipe never fills up."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        assert process.stdout is not None
        stream = process.stdout

        def pump() -> None:
            for line in stream:
                self._queue.put(line.rstrip("\n"))
            self._queue.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def wait_for(self, wanted: str, timeout: float) -> None:
        while True:
            try:
                line = self._queue.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {wanted!r} within {timeout} s; output:\n{self.text()}") from None
            if line is None:
                raise AssertionError(f"the script ended before {wanted!r}; output:\n{self.text()}")
            self.seen.append(line)
            if wanted in line:
                return

    def text(self) -> str:
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.seen.append(line)
        return "\n".join(self.seen)


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A Redis server of this test's own (no persistence), ready once it says so on stdout."""
    (port,) = free_ports(1)
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        Lines(process).wait_for("Ready to accept connections", timeout=30)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=STOP_TIMEOUT_SECONDS)


@pytest.fixture
def database_name() -> Iterator[str]:
    """A database name the script creates; dropped afterwards whatever happened."""
    name = f"genba_e2e_local_{secrets.token_hex(4)}"
    try:
        yield name
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # gone meanwhile
            if int(stat.rsplit(")", 1)[1].split()[2]) == pgid:  # fields after "(comm)": state ppid pgrp
                members.append(int(entry.name))
    return members


def group_gone(pgid: int, timeout: float = STOP_TIMEOUT_SECONDS) -> bool:
    """Whether every process of the group has exited within ``timeout``: waits on pidfds, which
    become readable when their process ends (helpers such as multiprocessing's resource tracker
    leave a moment after their parent)."""
    deadline = time.monotonic() + timeout
    while members := group_members(pgid):
        for pid in members:
            try:
                fd = os.pidfd_open(pid)
            except ProcessLookupError:
                continue
            try:
                readable, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            finally:
                os.close(fd)
            if not readable:
                return False
    return True


def refuses_connections(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_two_workers_behind_the_proxy_share_one_issuer_and_stop_on_sigterm(
    tmp_path: Path, redis_url: str, database_name: str
) -> None:
    proxy_port, *worker_ports = free_ports(3)
    issuer = f"http://localhost:{proxy_port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("GENBA_")}
    env |= {
        "GENBA_LOCAL_PORT": str(proxy_port),
        "GENBA_LOCAL_WORKER_PORTS": " ".join(map(str, worker_ports)),
        "GENBA_LOCAL_DB": database_name,
        "GENBA_LOCAL_PG_URL": PG_ADMIN_URL,
        "GENBA_LOCAL_REDIS_URL": redis_url,
        "GENBA_LOCAL_STATE_DIR": str(tmp_path / "state"),
        "GENBA_LOCAL_PYTHON": sys.executable,
    }
    script = subprocess.Popen(
        ["bash", str(SCRIPT)],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: every process it starts can be found
    )
    output = Lines(script)
    try:
        output.wait_for(READY_LINE, timeout=START_TIMEOUT_SECONDS)
        assert f"created database {database_name}" in output.text()

        with httpx.Client(timeout=10) as client:
            for port in worker_ports:
                direct = client.get(f"http://127.0.0.1:{port}/.well-known/openid-configuration")
                assert direct.status_code == 200, direct.text
                assert direct.json()["issuer"] == issuer
                ready = client.get(f"http://127.0.0.1:{port}/readyz")
                assert ready.status_code == 200, ready.text
                # every worker's caches listen to PostgreSQL's notifications (docs/operations.md "Worker caches")
                checks = {"database": "ok", "redis": "ok", "keys": "ok", "invalidation": "listening"}
                assert ready.json()["checks"] == checks

            answered_by = []
            for _ in range(6):
                via_proxy = client.get(f"http://127.0.0.1:{proxy_port}/.well-known/openid-configuration")
                assert via_proxy.status_code == 200, via_proxy.text
                assert via_proxy.json()["issuer"] == issuer
                answered_by.append(via_proxy.headers["x-genba-upstream"])
            assert sorted(set(answered_by)) == sorted(f"127.0.0.1:{port}" for port in worker_ports)
            assert answered_by[:2] * 3 == answered_by  # round robin: strictly alternating

        script.send_signal(signal.SIGTERM)
        assert script.wait(timeout=STOP_TIMEOUT_SECONDS) == 128 + signal.SIGTERM, output.text()
        assert group_gone(script.pid), "a process the script started outlived it"
        assert all(refuses_connections(port) for port in [proxy_port, *worker_ports])
        logs = tmp_path / "state" / "logs"
        for port in worker_ports:
            assert "Application shutdown complete" in (logs / f"worker-{port}.log").read_text()
    finally:
        if group_members(script.pid):
            os.killpg(script.pid, signal.SIGKILL)
        script.wait(timeout=STOP_TIMEOUT_SECONDS)


def dockerfile_exec_form(instruction: str) -> list[str]:
    """The JSON ``CMD [...]`` of the Dockerfile's last ``instruction`` line (continuations joined)."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith(instruction + " ")]
    form = lines[-1].split("CMD", 1)[1].strip()
    value: list[str] = json.loads(form)
    return value


def test_the_image_command_serves_with_two_workers_and_passes_its_healthcheck(tmp_path: Path) -> None:
    """docker/Dockerfile's CMD and HEALTHCHECK, run here as the image runs them (production settings,
    GENBA_POLICIES_DIR), on 127.0.0.1 and a free port instead of 0.0.0.0:8000."""
    command = dockerfile_exec_form("CMD")
    assert command == ["genba", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--proxy-headers"]
    healthcheck = dockerfile_exec_form("HEALTHCHECK")
    assert healthcheck[:2] == ["python", "-c"] and "http://127.0.0.1:8000/healthz" in healthcheck[2]
    (port,) = free_ports(1)
    genba = str(Path(sys.executable).parent / "genba")
    command = [genba, *command[1:]]
    command[command.index("0.0.0.0")] = "127.0.0.1"
    command[command.index("8000")] = str(port)
    env = {key: value for key, value in os.environ.items() if not key.startswith("GENBA_")}
    env |= {
        "GENBA_ENVIRONMENT": "production",
        "GENBA_ISSUER": "https://genba.example",
        "GENBA_SECRET_KEY": "image-secret-key-0123456789-abcdefghijklmnopqrstuv",
        "GENBA_DATABASE_URL": f"sqlite:///{tmp_path / 'genba.sqlite3'}",
        "GENBA_POLICIES_DIR": str(REPO / "policies"),
        "PYTHONUNBUFFERED": "1",
    }
    subprocess.run([genba, "db", "upgrade"], env=env, cwd=tmp_path, check=True, capture_output=True, timeout=120)
    server = subprocess.Popen(
        command,
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output = Lines(server)
    try:
        output.wait_for("Application startup complete", timeout=START_TIMEOUT_SECONDS)
        output.wait_for("Application startup complete", timeout=START_TIMEOUT_SECONDS)  # the second worker
        probe = [sys.executable, "-c", healthcheck[2].replace(":8000/", f":{port}/")]
        assert subprocess.run(probe, env=env, capture_output=True, timeout=30).returncode == 0
        response = httpx.get(f"http://127.0.0.1:{port}/.well-known/openid-configuration", timeout=10)
        assert response.json()["issuer"] == "https://genba.example"
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=STOP_TIMEOUT_SECONDS) == 0, output.text()
        assert group_gone(server.pid), "a worker outlived the server"
    finally:
        if group_members(server.pid):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=STOP_TIMEOUT_SECONDS)
