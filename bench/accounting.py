"""CPU of the database and the cache during a measured window, and the statistics of ``bench.peer``.

The server's own CPU is read from its process tree (``bench.server.tree_cpu_seconds``). PostgreSQL and
Redis run as separate processes, so their work for the server is counted here, from ``/proc/<pid>/stat``
(utime + stime, proc(5)), for the processes attributable to the run:

- **PostgreSQL**: the backends connected to the benchmark's own database (``pg_stat_activity.datname``).
  A sampler thread lists them every ``SAMPLE_SECONDS`` and reads each one's CPU ticks; a backend present
  at the start counts from its ticks then, one that appears later from zero (all its CPU is inside the
  window), and each counts up to the last sample in which it was seen. Limits: a backend that exits
  between two samples loses the CPU it used since the last one (``exited`` says how many exited), the
  shared background processes (checkpointer, WAL writer, background writer, autovacuum) are not
  attributed — their CPU over the window, together with every other database's backends, is recorded as
  ``postgres_other_seconds`` for context (other users of the machine's PostgreSQL land there too).
- **Redis**: the ``redis-server`` process(es) given (``bench.processes.redis_server`` starts a private one
  for the benchmark, so all of its CPU is the run's). With a shared Redis every command of every client
  is counted: an upper bound.

All figures are CPU seconds; ticks are ``SC_CLK_TCK`` per second (10 ms resolution at 100 Hz).
"""

from __future__ import annotations

import contextlib
import math
import statistics
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bench.server import CLK_TCK

SAMPLE_SECONDS = 0.2
POSTGRES_NAMES = frozenset({"postgres", "postmaster"})


@dataclass(frozen=True)
class ProcStat:
    """The fields of one ``/proc/<pid>/stat`` line the accounting needs."""

    pid: int
    comm: str
    ppid: int
    ticks: int  # utime + stime: the process's own CPU, all its threads
    child_ticks: int  # cutime + cstime: children it has waited for (PostgreSQL's exited backends)


def parse_stat(text: str) -> ProcStat:
    """One ``/proc/<pid>/stat`` line (proc(5)): pid (comm) state ppid … utime(14) stime(15) cutime(16) cstime(17).

    ``comm`` may hold spaces and parentheses, so the fields after it are split from the last ``)``.
    """
    head, _, tail = text.rpartition(")")
    pid, _, comm = head.partition(" (")
    fields = tail.split()  # fields[0] is field 3 (state)
    return ProcStat(
        int(pid), comm, int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])
    )


def read_stat(pid: int) -> ProcStat | None:
    try:
        return parse_stat(Path(f"/proc/{pid}/stat").read_text())
    except (OSError, ValueError, IndexError):
        return None  # gone (or not ours to read)


def processes_named(names: Iterable[str]) -> dict[int, ProcStat]:
    """Every process on the machine whose ``comm`` is one of ``names``."""
    wanted, found = frozenset(names), {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := read_stat(int(entry.name))) is not None and stat.comm in wanted:
            found[stat.pid] = stat
    return found


def total_ticks(stats: Mapping[int, ProcStat]) -> int:
    """Own CPU of every process plus what the ones outside the set have reaped (exited children)."""
    return sum(s.ticks + (s.child_ticks if s.ppid not in stats else 0) for s in stats.values())


@dataclass
class CpuLedger:
    """CPU ticks of a changing set of processes over a window, from samples.

    ``start`` fixes each present process's baseline; a process first seen later starts from zero
    (it was born inside the window); ``observe`` keeps each one's latest ticks. ``seconds`` is the sum
    of latest − baseline. A process that exits keeps its last observed value.
    """

    baseline: dict[int, int] = field(default_factory=dict)
    latest: dict[int, int] = field(default_factory=dict)
    started: bool = False

    def start(self, ticks: Mapping[int, int]) -> None:
        self.baseline, self.latest, self.started = dict(ticks), dict(ticks), True

    def observe(self, ticks: Mapping[int, int]) -> None:
        for pid, value in ticks.items():
            self.baseline.setdefault(pid, 0)
            self.latest[pid] = max(value, self.latest.get(pid, 0))

    def exited(self, alive: Iterable[int]) -> int:
        """How many observed processes are no longer in ``alive``."""
        return len(set(self.latest) - set(alive))

    def seconds(self) -> float:
        return sum(self.latest[pid] - self.baseline[pid] for pid in self.latest) / CLK_TCK


class ServiceCpu:
    """PostgreSQL backends of one database and the given Redis processes, sampled over a window.

    ``start()`` and ``stop()`` bracket the measured window (a thread samples in between);
    ``stop()`` returns ``{"postgres_seconds", "redis_seconds", "postgres_other_seconds",
    "postgres_backends", "postgres_backends_exited"}``.
    """

    def __init__(self, admin_url: str, database: str, redis_pids: Iterable[int]) -> None:
        self.admin_url, self.database, self.redis_pids = admin_url, database, tuple(redis_pids)
        self._conn: psycopg.Connection[Any] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pg, self._redis = CpuLedger(), CpuLedger()
        self._machine0 = 0
        self._lock = threading.Lock()

    def _backends(self) -> dict[int, int]:
        assert self._conn is not None
        rows = self._conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,)).fetchall()
        return {pid: stat.ticks for (pid,) in rows if (stat := read_stat(pid)) is not None}

    def _redis_ticks(self) -> dict[int, int]:
        return {pid: stat.ticks for pid in self.redis_pids if (stat := read_stat(pid)) is not None}

    def _sample(self) -> None:
        backends, redis = self._backends(), self._redis_ticks()
        with self._lock:
            self._pg.observe(backends)
            self._redis.observe(redis)

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            with contextlib.suppress(psycopg.Error):
                self._sample()

    def start(self) -> None:
        self._conn = psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10)
        self._pg, self._redis = CpuLedger(), CpuLedger()
        self._pg.start(self._backends())
        self._redis.start(self._redis_ticks())
        self._machine0 = total_ticks(processes_named(POSTGRES_NAMES))
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, float]:
        machine = total_ticks(processes_named(POSTGRES_NAMES)) - self._machine0
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        assert self._conn is not None
        alive = self._backends()
        self._conn.close()
        postgres = self._pg.seconds()
        return {
            "postgres_seconds": postgres,
            "redis_seconds": self._redis.seconds(),
            "postgres_other_seconds": max(0.0, machine / CLK_TCK - postgres),
            "postgres_backends": len(self._pg.latest),
            "postgres_backends_exited": self._pg.exited(alive),
        }


# -- statistics --------------------------------------------------------------------------------------------


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list (NaN when empty): the smallest value with at least
    ``p`` % of the values at or below it."""
    if not sorted_values:
        return math.nan
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]


def per_second(count: float, seconds: float | None) -> float | None:
    """``count`` ÷ ``seconds``, or None when no time was measured."""
    return count / seconds if seconds else None


def cpu_figures(
    requests: int, seconds: float, server: float, postgres: float | None = None, redis: float | None = None
) -> dict[str, Any]:
    """Per-CPU figures of one measured run: the server alone (``requests_per_server_cpu_second``) and the
    server + PostgreSQL + Redis (``requests_per_cpu_second``, None when neither service was measured),
    and the CPU milliseconds each spent per request."""
    services = [value for value in (postgres, redis) if value is not None]
    per_request = {"server": server, "postgres": postgres, "redis": redis}
    return {
        "server_cpu_seconds": server,
        "server_cpu_cores": server / seconds if seconds else None,
        "requests_per_server_cpu_second": per_second(requests, server),
        "requests_per_cpu_second": per_second(requests, server + sum(services)) if services else None,
        "cpu_ms_per_request": {
            name: (1000 * value / requests if requests and value is not None else None)
            for name, value in per_request.items()
        },
    }


def median_of(values: Iterable[float | None]) -> float | None:
    """Median of the figures that exist (None and NaN left out), or None."""
    present = [v for v in values if v is not None and math.isfinite(v)]
    return statistics.median(present) if present else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator
