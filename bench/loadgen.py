"""Shared by ``bench.peer`` and ``bench.scale``: the npm packages, autocannon runs, and RSS from /proc.

``ensure_node_modules`` runs ``npm ci`` in ``bench/node`` (the committed ``package-lock.json`` pins
oidc-provider, autocannon and argon2) when ``node_modules`` is missing or older than the lock file.
``load`` runs ``bench/node/load.mjs``: autocannon for a warm-up, then for the measured seconds, with
the server processes' CPU time and resident memory sampled from /proc while it runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.accounting import ServiceCpu, cpu_figures
from bench.server import CLK_TCK, tree_cpu_seconds

NODE_DIR = Path(__file__).resolve().parent / "node"
STAMP = NODE_DIR / "node_modules" / ".bench-lock-stamp"
MIN_NODE_MAJOR = 20
NPM_TIMEOUT = 600.0
RSS_SAMPLE_SECONDS = 0.5


class ToolchainError(RuntimeError):
    """node or npm is missing, or the packages could not be installed."""


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        raise ToolchainError(f"python -m bench peer needs Node.js {MIN_NODE_MAJOR}+ with npm on PATH")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True, timeout=30).stdout
    if int(version.strip().lstrip("v").split(".")[0]) < MIN_NODE_MAJOR:
        raise ToolchainError(f"Node.js {version.strip()} is too old; {MIN_NODE_MAJOR}+ is needed")
    return node


def ensure_node_modules() -> dict[str, str]:
    """``npm ci`` once per lock file; returns node's version and the installed package versions."""
    node, npm = node_binary(), shutil.which("npm")
    lock = (NODE_DIR / "package-lock.json").read_bytes()
    if not STAMP.exists() or STAMP.read_bytes() != lock:
        if npm is None:
            raise ToolchainError("npm is not on PATH")
        env_args = ["--no-audit", "--no-fund", "--prefer-offline"]
        done = subprocess.run(
            [npm, "ci", *env_args], cwd=NODE_DIR, capture_output=True, text=True, timeout=NPM_TIMEOUT, check=False
        )
        if done.returncode != 0:
            raise ToolchainError(f"npm ci failed in {NODE_DIR}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        STAMP.write_bytes(lock)
    packages = json.loads(lock)["packages"]
    versions = {name: packages[f"node_modules/{name}"]["version"] for name in ("oidc-provider", "autocannon", "argon2")}
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True, timeout=30).stdout
    return {"node": version.strip(), **versions}


def log_errors(text: str) -> dict[str, int]:
    """Error lines of a server log counted by kind: Genba's JSON lines at level error by their ``error``
    (or message), and any other line with a traceback or an error."""
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        if '"level":"error"' in line or '"level": "error"' in line:  # orjson's compact lines, or spaced ones
            try:
                entry = json.loads(line)
                counts[str(entry.get("error") or entry.get("message"))[:160]] += 1
            except ValueError:
                counts[line[:160]] += 1
        elif "Traceback" in line or "Error:" in line:
            counts[line.strip()[:160]] += 1
    return dict(counts)


def load_average() -> list[float]:
    """1, 5 and 15-minute load averages: anything else running on the machine shows here."""
    return [round(value, 2) for value in os.getloadavg()]


def busy_note(before: list[float]) -> str | None:
    """A warning when the machine was already busy before the benchmark started."""
    cores = len(os.sched_getaffinity(0))
    if before[0] <= 0.5 * cores:
        return None
    return f"the machine was busy before the run (1-minute load average {before[0]:g} on {cores} cores): noisy figures"


# -- resident memory ---------------------------------------------------------------------------------------


def rss_kib(pid: int) -> int | None:
    """VmRSS of one process (proc(5)), or None once it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return 0


def children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found += [int(c) for c in (task / "children").read_text().split()]
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def process_roles(root: int) -> dict[str, int]:
    """``{role: pid}`` of a server's processes: the root, and uvicorn's workers (``spawn_main``) if any."""
    roles = {"main": root}
    pending, workers = children(root), 0
    while pending:
        pid = pending.pop()
        line = cmdline(pid)
        if "spawn_main" in line:
            workers += 1
            roles[f"worker {workers}"] = pid
        elif "resource_tracker" not in line:
            roles[f"child {pid}"] = pid
        pending += children(pid)
    return roles


def cpu_by_process(roles: dict[str, int]) -> dict[str, float]:
    """CPU seconds (utime + stime) of each process on its own, without its children; shows how the
    load is spread over uvicorn's workers."""
    found: dict[str, float] = {}
    for role, pid in roles.items():
        with contextlib.suppress(OSError):
            text = Path(f"/proc/{pid}/stat").read_text()
            fields = text[text.rfind(")") + 2 :].split()
            found[role] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return found


def rss_by_role(roles: dict[str, int]) -> dict[str, float]:
    """MiB per role (processes that have gone are left out)."""
    values = {role: rss_kib(pid) for role, pid in roles.items()}
    return {role: kib / 1024 for role, kib in values.items() if kib is not None}


@dataclass
class RssSampler:
    """Samples the RSS of some processes every half second in a thread; keeps each one's peak."""

    roles: dict[str, int]
    peak: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RssSampler:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        while True:
            for role, mib in rss_by_role(self.roles).items():
                self.peak[role] = max(self.peak.get(role, 0.0), mib)
            if self._stop.wait(RSS_SAMPLE_SECONDS):
                return


# -- autocannon --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    variants: list[dict[str, Any]] = field(default_factory=list)  # merged into successive requests in turn
    distinct: bool = False  # each variant at most once in the measured run (the warm-up uses the plain request)


def _autocannon(spec: dict[str, Any], name: str) -> dict[str, Any]:
    done = subprocess.run(
        [node_binary(), str(NODE_DIR / "load.mjs")],
        input=json.dumps(spec),
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=spec["duration"] + 120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"autocannon ({name}) failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def collect(base_url: str, scenario: Scenario, field_name: str, *, amount: int, connections: int) -> list[str]:
    """``amount`` requests of ``scenario`` through autocannon; the ``field_name`` of each 200 answer's JSON
    (e.g. ``access_token``: many distinct tokens in a few seconds)."""
    spec: dict[str, Any] = {"url": base_url + scenario.path, "method": scenario.method, "headers": scenario.headers}
    spec |= {"body": scenario.body, "connections": connections, "collect": field_name, "amount": amount}
    values: list[str] = _autocannon(spec | {"duration": amount / 50}, scenario.name)["values"]
    return values


def load(
    base_url: str,
    scenario: Scenario,
    *,
    connections: int,
    warmup: float,
    duration: float,
    pid: int,
    services: ServiceCpu | None = None,
) -> dict[str, Any]:
    """autocannon against ``base_url + scenario.path``: a warm-up run (discarded), then ``duration`` seconds.

    Adds the server's CPU time over the measured run (``server_cpu_cores``, and requests per server
    CPU-second) and the peak RSS of each of its processes; with ``services``, also PostgreSQL's and
    Redis's CPU over the measured run (``bench.accounting``) and requests per CPU-second of all three.
    A scenario with ``distinct`` variants warms up on its plain request and must not run out of
    variants in the measured run (each request then carries one never used before). Fails on any
    non-2xx answer or error.
    """
    spec = {
        "url": base_url + scenario.path,
        "method": scenario.method,
        "headers": scenario.headers,
        "body": scenario.body,
        "connections": connections,
        "variants": scenario.variants,
    }
    roles = process_roles(pid)
    with RssSampler(roles) as sampler:
        if warmup > 0:
            warm = spec | {"duration": warmup, "variants": [] if scenario.distinct else scenario.variants}
            _autocannon(warm, scenario.name)
        if services is not None:
            services.start()
        cpu0, by_process = tree_cpu_seconds(pid), cpu_by_process(roles)
        result = _autocannon(spec | {"duration": duration}, scenario.name)
        cpu = tree_cpu_seconds(pid) - cpu0
        by_process = {role: seconds - by_process.get(role, 0.0) for role, seconds in cpu_by_process(roles).items()}
        result |= services.stop() if services is not None else {}
    result |= cpu_figures(
        result["total"], result["seconds"], cpu, result.get("postgres_seconds"), result.get("redis_seconds")
    )
    result["server_cpu_seconds_by_process"] = by_process
    result["rss_peak_mib"] = sampler.peak
    bad = {code: n for code, n in result["status"].items() if not code.startswith("2")}
    result["failures"] = sum(bad.values()) + result["errors"] + result["timeouts"]
    if scenario.distinct:  # requests sent ≤ answered + one in flight per connection (+ errors)
        sent = result["total"] + connections + result["errors"] + result["timeouts"]
        result["distinct_variants"], result["distinct_variants_needed"] = len(scenario.variants), sent
        if sent > len(scenario.variants):
            result["failures"] += 1
            bad["variants reused"] = sent - len(scenario.variants)
    if result["failures"]:
        result["failure_detail"] = {"status": bad, "errors": result["errors"], "timeouts": result["timeouts"]}
    return result
