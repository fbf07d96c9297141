"""A real Genba ID server process for benchmarks, and its CPU time from /proc.

The listening socket is bound here (127.0.0.1, port 0) and handed to ``uvicorn --fd``: the port
is known before the server starts and requests made while it is still importing wait in the
backlog, so readiness is one GET with a long timeout, never a sleep-and-retry loop.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

READY_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


def genba_env(values: dict[str, str]) -> dict[str, str]:
    """This process's environment without any ``GENBA_*`` variable, plus ``values``.

    The load generator is one address standing for many clients, so the per-address limit on
    anonymous endpoints (app/ratelimit.py) is off unless ``values`` sets it.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("GENBA_")}
    return env | {"PYTHONUNBUFFERED": "1", "GENBA_ANONYMOUS_REQUESTS_PER_MINUTE": "0"} | values


@dataclass(frozen=True)
class LiveServer:
    base_url: str  # http://127.0.0.1:<port>
    process: subprocess.Popen[bytes]
    log_path: Path

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.process.pid)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@contextlib.contextmanager
def running_server(env: dict[str, str], workdir: Path, *, ready_path: str = "/login") -> Iterator[LiveServer]:
    """``uvicorn --factory app.asgi:create --workers 1`` in ``workdir`` (so no developer ``.env`` is read).

    ``GENBA_ISSUER`` is set to ``http://localhost:<port>``; the server is stopped on the way out.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # uvicorn --fd sees an AF_UNIX socket and never sets TCP_NODELAY on accepted connections, so each
    # keep-alive response would wait ~40 ms for a delayed ACK; Linux copies the option from this socket.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    command = [sys.executable, "-m", "uvicorn", "--factory", "app.asgi:create", "--workers", "1"]
    command += ["--fd", str(sock.fileno()), "--backlog", "1024", "--no-server-header", "--log-level", "warning"]
    log_path = workdir / "server.log"
    with log_path.open("wb") as log, sock:  # our copy of the socket is closed once the child has its own
        process = subprocess.Popen(
            command,
            env=env | {"GENBA_ISSUER": f"http://localhost:{port}"},
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=(sock.fileno(),),
        )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log_path)
    try:
        try:
            ready = httpx.get(server.base_url + ready_path, timeout=READY_TIMEOUT)
        except httpx.HTTPError as exc:
            raise RuntimeError(f"the server did not answer ({exc!r})\n{server.log_tail()}") from exc
        if ready.status_code != 200:
            raise RuntimeError(f"GET {ready_path} answered {ready.status_code}\n{server.log_tail()}")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def tree_cpu_seconds(root: int) -> float:
    """utime + stime of ``root`` and its live descendants (plus their reaped children's), in seconds.

    Read from ``/proc/<pid>/stat`` (fields 14-17, proc(5)); every thread's time is in its process's line.
    """
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                text = (entry / "stat").read_text()
                stats[int(entry.name)] = text[text.rfind(")") + 2 :].split()  # fields 3 (state) onwards
    pending, ticks = [root], 0
    while pending:
        pid = pending.pop()
        if pid in stats:
            ticks += sum(int(value) for value in stats[pid][11:15])  # utime stime cutime cstime
            pending += [child for child, fields in stats.items() if int(fields[1]) == pid]  # field 4: ppid
    return ticks / CLK_TCK
