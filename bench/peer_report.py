"""The figures of ``bench.peer``: medians over the alternating rounds, the issue's goals table, and the tables.

Every round runs each scenario on both servers back to back (Genba first in even rounds, the peer first
in odd ones), so a ratio of one round compares two runs made in the same machine state; the ratios
reported are the medians of the per-round ratios, the other figures the medians of the per-round ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.accounting import median_of, ratio

SIDES = ("genba", "peer")
FIGURES = (
    *("requests_per_second_median", "requests_per_server_cpu_second", "requests_per_cpu_second"),
    *("server_cpu_cores", "postgres_seconds", "redis_seconds", "postgres_other_seconds"),
)
#: ratio name → (figure, True when it is a latency in ``latency_ms``)
RATIOS = {
    "per_cpu_second": ("requests_per_cpu_second", False),  # server + PostgreSQL + Redis
    "per_server_cpu_second": ("requests_per_server_cpu_second", False),  # the server's processes alone
    "per_second": ("requests_per_second_median", False),  # wall clock
    "p50": ("p50", True),
    "p99": ("p99", True),
}


def _figure(run: dict[str, Any], name: str, latency: bool) -> float | None:
    value = run.get("latency_ms", {}).get(name) if latency else run.get(name)
    return float(value) if isinstance(value, int | float) else None


def combine(rounds: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """``rounds[i][scenario][side]`` (one measured run each) → per scenario: each side's medians over the
    rounds (and every round's run), and the Genba ÷ peer ratios (median of the per-round ratios)."""
    combined: dict[str, Any] = {}
    for name in rounds[0]:
        entry: dict[str, Any] = {}
        for side in SIDES:
            runs = [one[name][side] for one in rounds]
            figures = {figure: median_of(_figure(run, figure, False) for run in runs) for figure in FIGURES}
            latency = {p: median_of(_figure(run, p, True) for run in runs) for p in ("p50", "p99")}
            ms = {
                k: median_of(run.get("cpu_ms_per_request", {}).get(k) for run in runs)
                for k in ("server", "postgres", "redis")
            }
            failures = sum(int(run.get("failures", 0)) for run in runs)
            entry[side] = figures | {
                "latency_ms": latency,
                "cpu_ms_per_request": ms,
                "failures": failures,
                "rounds": runs,
            }
        by_round = {
            key: [ratio(_figure(one[name]["genba"], fig, lat), _figure(one[name]["peer"], fig, lat)) for one in rounds]
            for key, (fig, lat) in RATIOS.items()
        }
        entry["genba_to_peer"] = {key: median_of(values) for key, values in by_round.items()}
        entry["genba_to_peer_by_round"] = by_round
        combined[name] = entry
    return combined


@dataclass(frozen=True)
class Goal:
    """One row of issue 14's goals table: a Genba ÷ peer ratio, or an absolute figure of Genba's."""

    row: str
    scenario: str | None  # a bench.peer scenario, None for memory and rows other benchmarks cover
    figure: str  # a key of RATIOS, a moment of the memory table ("at rest", "after the load"), or ""
    goal: float = math.nan
    at_most: bool = False  # the goal is a ceiling (p99 ratio, MiB), not a floor
    elsewhere: str = ""  # the benchmark that covers this row instead


GOALS = (
    Goal("client_credentials token, per CPU-second", "token", "per_cpu_second", 2.0),
    Goal("client_credentials token, p99", "token", "p99", 0.5, at_most=True),
    Goal("introspection, repeated tokens", "introspection", "per_cpu_second", 2.0),
    Goal("introspection, distinct tokens", "introspection-distinct", "per_cpu_second", 1.2),
    Goal("userinfo with CCUS claims under consent", "userinfo", "per_cpu_second", 2.0),
    Goal("discovery", "discovery", "per_cpu_second", 3.0),
    Goal("JWKS", "jwks", "per_cpu_second", 3.0),
    Goal("full sign-in flow (password + TOTP + code + token)", "flow", "per_cpu_second", 1.0),
    Goal("RSS per worker at rest, MiB", None, "at rest", 120.0, at_most=True),
    Goal("RSS per worker after the load, MiB", None, "after the load", 200.0, at_most=True),
    Goal("consent decision in-process, p99", None, "", elsewhere="bench consent"),
    Goal("gate card check per core", None, "", elsewhere="bench gate"),
    Goal("certificate bulk import per importer CPU-second", None, "", elsewhere="bench connectors"),
)


def worker_rss(memory: dict[str, dict[str, float]]) -> dict[str, float | None]:
    """Largest RSS of a worker per side: Genba's ``worker N`` processes, the peer's one process."""
    found: dict[str, float | None] = {}
    for side, roles in memory.items():
        workers = [mib for role, mib in roles.items() if role.startswith("worker")] or list(roles.values())
        found[side] = max(workers) if workers else None
    return found


def summary(results: dict[str, Any], memory: dict[str, Any]) -> list[dict[str, Any]]:
    """The goals table: for each row the two sides' figures, the measured ratio (all-in CPU; the
    server-only ratio beside it), the goal and whether it is met (None when this run did not cover it)."""
    rows = []
    for goal in GOALS:
        row: dict[str, Any] = {"row": goal.row, "goal": goal.goal if not goal.elsewhere else None}
        row |= {"at_most": goal.at_most, "genba": None, "peer": None, "ratio": None, "server_only_ratio": None}
        row |= {"met": None, "covered_by": goal.elsewhere or "bench peer"}
        if goal.figure in memory:
            rss = worker_rss(memory[goal.figure])
            row |= {"genba": rss.get("genba"), "peer": rss.get("peer")}
            row["met"] = None if row["genba"] is None else row["genba"] <= goal.goal
        elif goal.scenario in results:
            entry, (figure, latency) = results[goal.scenario], RATIOS[goal.figure]
            row["genba"], row["peer"] = (_figure(entry[side], figure, latency) for side in SIDES)
            row["ratio"] = entry["genba_to_peer"][goal.figure]
            if goal.figure == "per_cpu_second":
                row["server_only_ratio"] = entry["genba_to_peer"]["per_server_cpu_second"]
            if row["ratio"] is not None:
                row["met"] = row["ratio"] <= goal.goal if goal.at_most else row["ratio"] >= goal.goal
        rows.append(row)
    return rows


def _num(value: float | None, digits: int = 1, suffix: str = "") -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.{digits}f}{suffix}"


def report(results: dict[str, Any], memory: dict[str, Any], rows: list[dict[str, Any]], rounds: int) -> None:
    """Prints the per-scenario table, resident memory and the goals table."""
    out = Console(width=max(Console().width, 150))  # a pipe would get 80 columns: too narrow to read
    table = Table(title=f"Genba ID vs node-oidc-provider 9, medians of {rounds} alternating round(s)")
    columns = (
        *("scenario", "server", "req/s", "p50 ms", "p99 ms", "app ms CPU/req", "PG ms/req", "Redis ms/req"),
        *("per app CPU-s", "per CPU-s all-in", "Genba ÷ peer all-in"),
    )
    for column in columns:
        table.add_column(column, justify="left" if column in ("scenario", "server") else "right")
    for name, entry in results.items():
        for side in SIDES:
            r, ms = entry[side], entry[side]["cpu_ms_per_request"]
            table.add_row(
                name if side == "genba" else "",
                side,
                _num(r["requests_per_second_median"], 0),
                _num(r["latency_ms"]["p50"]),
                _num(r["latency_ms"]["p99"]),
                _num(ms["server"], 2),
                _num(ms["postgres"], 2),
                _num(ms["redis"], 3),
                _num(r["requests_per_server_cpu_second"], 0),
                _num(r["requests_per_cpu_second"], 0),
                _num(entry["genba_to_peer"]["per_cpu_second"], 2, "×") if side == "genba" else "",
                end_section=side == "peer",
            )
    out.print(table)
    rss = Table(title="Resident memory (MiB, /proc VmRSS; PostgreSQL and Redis not included)")
    for column in ("server", "process", *memory):
        rss.add_column(column, justify="left" if column in ("server", "process") else "right")
    for side, roles in memory["at rest"].items():
        for role in roles:
            rss.add_row(side, role, *(_num(memory[when][side].get(role), 0) for when in memory))
    out.print(rss)
    goals = Table(
        title="Issue 14 goals: Genba ÷ oidc-provider 9, same run (per CPU-second = server + PostgreSQL + Redis)"
    )
    for column in ("goal row", "Genba", "peer", "ratio", "app-only ratio", "goal", "met"):
        goals.add_column(column, justify="left" if column == "goal row" else "right")
    for row in rows:
        if row["covered_by"] != "bench peer":
            goals.add_row(row["row"], "", "", "", "", f"see {row['covered_by']}", "")
            continue
        unit = " MiB" if row["row"].startswith("RSS") else "×"
        goal = f"{'≤' if row['at_most'] else '≥'} {row['goal']:.{0 if unit == ' MiB' else 1}f}{unit}"
        met = {True: "[green]yes[/]", False: "[red]no[/]", None: "-"}[row["met"]]
        goals.add_row(
            row["row"],
            _num(row["genba"]),
            _num(row["peer"]),
            _num(row["ratio"], 2, "×"),
            _num(row["server_only_ratio"], 2, "×"),
            goal,
            met,
        )
    out.print(goals)
    spread = []
    for name, entry in results.items():
        workers: dict[str, float] = {}
        for run in entry["genba"]["rounds"]:
            for role, seconds in run.get("server_cpu_seconds_by_process", {}).items():
                if role.startswith("worker"):
                    workers[role] = workers.get(role, 0.0) + seconds
        total = sum(workers.values())
        if total > 0:
            spread.append(f"{name} " + " / ".join(f"{100 * v / total:.0f}%" for v in workers.values()))
    if spread:
        out.print("Genba CPU time by worker (all rounds): " + "; ".join(spread))
