"""The two servers of ``bench.peer`` (and Genba for ``bench.scale``) as real processes.

Genba ID runs as deployed: ``genba serve --workers N`` (a supervisor and N spawned workers, each on
its own SO_REUSEPORT socket, JSON access logs to a file). It binds its own port, so readiness is
polled (``wait_ready``) until the discovery document answers 200. The peer,
``node bench/node/server.mjs``, inherits a socket bound here (as ``bench.server`` does for uvicorn),
so requests wait in the backlog while it starts.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import redis

from bench.loadgen import NODE_DIR, node_binary
from bench.server import STOP_TIMEOUT, LiveServer

READY_TIMEOUT = 90.0
GENBA = str(Path(sys.executable).with_name("genba"))
REPO = Path(__file__).resolve().parent.parent
DISCOVERY = "/.well-known/openid-configuration"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(server: LiveServer, path: str = DISCOVERY) -> None:
    """GET ``path`` until it answers 200 (connection refused while the workers start), or fail."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited with {server.process.returncode}\n{server.log_tail()}")
        try:
            answer = httpx.get(server.base_url + path, timeout=10.0)
            if answer.status_code == 200:
                return
            raise RuntimeError(f"GET {path} answered {answer.status_code}\n{server.log_tail()}")
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no answer within {READY_TIMEOUT:g} s\n{server.log_tail()}") from None
            time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def genba_serve(env: dict[str, str], workdir: Path, workers: int) -> Iterator[LiveServer]:
    """``genba serve --workers N`` on a free port of 127.0.0.1, with ``GENBA_ISSUER=http://localhost:<port>``."""
    port = free_port()
    command = [GENBA, "serve", "--workers", str(workers)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    log_path = workdir / "genba.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            env=env | {"GENBA_ISSUER": f"http://localhost:{port}", "PYTHONPATH": str(REPO)},
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log_path)
    try:
        wait_ready(server)
        yield server
    finally:
        stop(process)


def create_client(
    env: dict[str, str], workdir: Path, redirect_uri: str, owner_employer_id: str | None = None
) -> dict[str, Any]:
    """``genba admin create-client --json``: a confidential client (client_secret_basic) for both grants,
    owned by ``owner_employer_id`` when given."""
    command = [GENBA, "admin", "create-client", "--name", "bench peer client", "--redirect-uri", redirect_uri]
    command += ["--grant-type", "authorization_code", "--grant-type", "client_credentials", "--json"]
    if owner_employer_id is not None:
        command += ["--owner-employer-id", owner_employer_id]
    done = subprocess.run(command, env=env, cwd=workdir, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"genba admin create-client failed: {done.stderr[-2000:]}")
    data: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return data


@contextlib.contextmanager
def node_peer(config: dict[str, Any], workdir: Path) -> Iterator[LiveServer]:
    """``node server.mjs`` on a socket bound here; ``config`` gets ``issuer`` and ``fd`` added."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    config_path = workdir / "peer-config.json"
    config_path.write_text(json.dumps(config | {"issuer": f"http://localhost:{port}", "fd": sock.fileno()}))
    log_path = workdir / "peer.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NODE_", "DEBUG"))} | {"NODE_ENV": "production"}
    with log_path.open("wb") as log, sock:
        process = subprocess.Popen(
            [node_binary(), str(NODE_DIR / "server.mjs"), str(config_path)],
            env=env,
            cwd=NODE_DIR,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=(sock.fileno(),),
        )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log_path)
    try:
        wait_ready(server)
        yield server
    finally:
        stop(process)


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[tuple[str, int]]:
    """A private ``redis-server`` on a free port of 127.0.0.1, nothing persisted: ``(url, pid)``.

    The benchmark's own, so every CPU tick of that process is the run's (``bench.accounting``)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not on PATH (or pass --redis-url to use a running Redis)")
    port = free_port()
    command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    log_path = workdir / "redis.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                with redis.Redis.from_url(url, socket_connect_timeout=1.0) as client:
                    client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start: {log_path.read_text()[-2000:]}") from None
                time.sleep(0.05)
        yield url, process.pid
    finally:
        stop(process)
