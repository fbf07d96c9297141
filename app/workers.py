"""``genba serve``'s processes: one uvicorn server, or with ``--workers N`` a supervisor of N worker
processes, each on its own SO_REUSEPORT socket (moved out of the CLI, issue 13 item 3). Graceful
shutdown on SIGTERM (``GRACEFUL_SHUTDOWN_SECONDS``); a worker that dies stops the service."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from typing import Any

GRACEFUL_SHUTDOWN_SECONDS = 20  # SIGTERM: requests in flight get this long to finish, then the worker stops
#: after SIGTERM, how long the supervisor of several workers waits for them before it kills them
STOP_DEADLINE_SECONDS = GRACEFUL_SHUTDOWN_SECONDS + 10
#: glibc malloc arenas per worker process. By default glibc gives each thread that allocates (the
#: thread pool's, up to 40: argon2id takes 19 MiB per hash there) an arena of its own, up to 8 per core,
#: and freed memory stays in them (docker/Dockerfile sets the same):
#: workers grew from about 150 to 230–410 MiB under load (issue 14's memory goal: ≤ 200 MiB after load).
#: Set for the spawned workers (glibc reads it at process start); an operator's own value wins.
MALLOC_ARENA_MAX = "2"
WAIT_POLL_SECONDS = 0.5  # how often the supervisor looks at the stop deadline while waiting for workers


def server_config(host: str, port: int, proxy_headers: bool, log_config: dict[str, Any]) -> Any:
    import uvicorn

    from app.serving import uvicorn_options

    return uvicorn.Config(
        "app.asgi:create",
        factory=True,
        host=host,
        port=port,
        proxy_headers=proxy_headers,
        log_config=log_config,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        **uvicorn_options(),
    )


def run_server(config: Any, sockets: list[socket.socket] | None = None) -> None:
    """``uvicorn.Server(config).run``, with the application built first and then frozen out of the
    garbage collector: what ``create_app`` builds lives as long as the process, and a full collection
    that walks it (100+ ms with everything loaded) stalls every request in flight."""
    import gc

    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    config.load()  # create_app(); uvicorn would do it at the start of run()
    gc.collect()
    gc.freeze()
    server = uvicorn.Server(config)
    server.run(sockets=sockets)
    if sockets is None and not server.started:  # as uvicorn.run: the address could not be bound
        sys.exit(STARTUP_FAILURE)


# -- genba serve --workers N: one SO_REUSEPORT socket per worker -------------------------------------
#
# Hand-written because uvicorn has no per-worker ``reuse_port``: with ``uvicorn.run(workers=N)`` every
# worker accepts from one shared socket, and long-lived keep-alive connections pile up on whichever
# worker wins the accept races (99/1 was seen under load). Here each worker binds its own listening
# socket to the same address with SO_REUSEPORT, and the kernel spreads new connections over them.
# The supervisor starts the workers, forwards SIGTERM/SIGINT to them as SIGTERM (uvicorn's graceful
# shutdown, ``GRACEFUL_SHUTDOWN_SECONDS``), and if a worker dies on its own it stops the others and
# exits non-zero, so that whatever runs it (Docker, systemd) restarts the whole service.


def _reuseport_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def _die_with_supervisor(supervisor: int) -> None:
    """Linux ``prctl(PR_SET_PDEATHSIG, SIGTERM)``: if the supervisor dies without stopping its workers
    (SIGKILL, OOM killer), each gets SIGTERM and shuts down gracefully instead of serving on as an
    orphan on the shared port. Through ctypes because the standard library has no binding for it."""
    if not sys.platform.startswith("linux"):  # pragma: no cover - elsewhere orphans are left as they are
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1  # <linux/prctl.h>
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != supervisor:  # it died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _serve_worker(host: str, port: int, proxy_headers: bool, log_config: dict[str, Any], supervisor: int) -> None:
    """One worker process: its own listening socket on the shared address, then uvicorn on it."""
    _die_with_supervisor(supervisor)
    config = server_config(host, port, proxy_headers, log_config)
    sock = _reuseport_socket(host, port)
    sock.listen(config.backlog)  # connections wait in this worker's backlog while the app starts
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C reaches the whole process group: a normal stop
        run_server(config, [sock])


# long: one supervisor loop whose signal handlers share its state (the processes, stopping, the
# deadline) through closures; split, that state would become an object and the signal handling would
# change shape, which this restructuring does not do (tests/e2e/test_serve_workers.py covers it)
def supervise_workers(host: str, port: int, workers: int, proxy_headers: bool, log_config: dict[str, Any]) -> int:
    """Start ``workers`` worker processes and wait for them; the exit status for ``genba serve``."""
    import logging
    import logging.config
    import multiprocessing
    import signal
    import time
    from multiprocessing.connection import wait

    logging.config.dictConfig(log_config)
    log = logging.getLogger("uvicorn.error")
    try:  # bound (not listening) for the supervisor's lifetime: the address is checked, port 0 resolved
        reservation = _reuseport_socket(host, port)
    except OSError as exc:
        log.error("cannot bind %s:%s: %s", host, port, exc.strerror or exc)
        return 1
    port = reservation.getsockname()[1]
    spawn = multiprocessing.get_context("spawn")
    os.environ.setdefault("MALLOC_ARENA_MAX", MALLOC_ARENA_MAX)  # inherited by the spawned workers
    processes: list[Any] = []
    stopping = False
    stop_deadline: float | None = None

    def stop_all(sig: int = signal.SIGTERM) -> None:
        nonlocal stopping, stop_deadline
        stopping = True
        stop_deadline = stop_deadline or time.monotonic() + STOP_DEADLINE_SECONDS
        for process in processes:
            if process.exitcode is None and process.pid is not None:
                os.kill(process.pid, sig)

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("Received %s, stopping the workers", signal.Signals(signum).name)
        stop_all()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    failed = 0
    try:
        log.info("Started parent process [%d]", os.getpid())
        log.info("Uvicorn running on http://%s:%d (Press CTRL+C to quit)", host, port)
        try:
            for _ in range(workers):
                if stopping:
                    break
                process = spawn.Process(
                    target=_serve_worker, args=(host, port, proxy_headers, log_config, os.getpid()), daemon=False
                )
                process.start()
                processes.append(process)
        except BaseException:  # a worker could not be started: the ones that did must not serve on alone
            stop_all()
            raise
        if stopping:  # a signal came while the workers were starting
            stop_all()
        running = list(processes)
        while running:
            # Poll: a signal handler that sets the deadline does not shorten a wait already in progress
            # (PEP 475 resumes it with its original timeout), so never wait longer than WAIT_POLL_SECONDS.
            ready = wait([p.sentinel for p in running], WAIT_POLL_SECONDS)
            if not ready:
                if stop_deadline is not None and time.monotonic() >= stop_deadline:
                    # the workers had their graceful shutdown
                    log.error("workers did not stop within %d s; killing them", STOP_DEADLINE_SECONDS)
                    stop_all(signal.SIGKILL)
                    stop_deadline = time.monotonic() + STOP_DEADLINE_SECONDS
                continue
            for process in [p for p in running if p.sentinel in ready]:
                process.join()
                running.remove(process)
                if not stopping:
                    log.error("worker [%d] exited with code %s; stopping the others", process.pid, process.exitcode)
                    failed = process.exitcode if process.exitcode and process.exitcode > 0 else 1
                    stop_all()
        log.info("Stopping parent process [%d]", os.getpid())
        return failed
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        reservation.close()
