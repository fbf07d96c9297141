"""Issue 14's goals table, gathered from every benchmark of one ``make bench`` run.

``bench.peer`` measures the protocol rows side by side with node oidc-provider (ratios per CPU-second,
p99, RSS); the other rows are absolute figures of other benchmarks: the consent decision
(``bench.consent``, in process), the gate's card check (``bench.gate``, per core) and the bulk
certificate import (``bench.connectors``, per importer CPU-second on PostgreSQL). This module reads
their results (the dicts just returned, or ``bench/results/<name>.json`` of an earlier run), prints one
table with each goal, the measured figure and met / not met, and returns it for
``bench/results/goals.json``. Nothing here measures: a row no run covered says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import RESULTS_DIR, machine_info, timestamp

DESCRIPTION = "issue 14's goals table from the latest results of peer, consent, gate and connectors"


@dataclass(frozen=True)
class Absolute:
    """A goal stated as an absolute figure of one benchmark's result."""

    row: str
    benchmark: str
    unit: str
    goal: float
    at_most: bool
    read: Callable[[Mapping[str, Any]], float | None]


def _path(data: Mapping[str, Any], *keys: str) -> float | None:
    for key in keys:
        if not isinstance(data, Mapping) or key not in data:
            return None
        data = data[key]
    return float(data) if isinstance(data, int | float) else None


ABSOLUTE = (
    Absolute(
        "consent decision in-process, p99",
        "consent",
        " ms",
        1.0,
        True,
        lambda r: _path(r, "results", "in_process", "decide", "p99_ms"),
    ),
    Absolute(
        "gate card check per core, general work",
        "gate",
        "/s",
        2000.0,
        False,
        lambda r: _path(r, "results", "check_general", "per_cpu_second"),
    ),
    Absolute(
        "gate card check per core, crane work",
        "gate",
        "/s",
        700.0,
        False,
        lambda r: _path(r, "results", "check_crane", "per_cpu_second"),
    ),
    Absolute(
        "certificate bulk import on PostgreSQL, per importer CPU-second",
        "connectors",
        "/s",
        3000.0,
        False,
        lambda r: _path(r, "results", "backends", "postgresql", "records_per_importer_cpu_second"),
    ),
)


def _saved(name: str, directory: Path) -> dict[str, Any] | None:
    path = directory / f"{name}.json"
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def gather(fresh: Mapping[str, dict[str, Any]], directory: Path = RESULTS_DIR) -> list[dict[str, Any]]:
    """Every goal row: the peer run's own goal rows (ratios) and the absolute rows, each with the
    figure, the goal, whether it is met (``None`` when no result covers it) and which run it came from
    (``fresh`` results of this run first, else the saved file with its timestamp)."""
    results = {name: fresh.get(name) or _saved(name, directory) for name in ("peer", "consent", "gate", "connectors")}
    rows: list[dict[str, Any]] = []
    peer = results["peer"] or {}
    for row in peer.get("goals", []):
        if row.get("covered_by") not in (None, "bench peer"):
            continue  # the absolute rows below stand for it
        kind = "MiB" if "MiB" in row["row"] else "ratio"
        figure = row["genba"] if kind == "MiB" else row["ratio"]
        rows.append(_row(row["row"], "peer", peer, figure, row["goal"], bool(row["at_most"]), kind))
    for goal in ABSOLUTE:
        result = results[goal.benchmark]
        figure = goal.read(result) if result else None
        rows.append(_row(goal.row, goal.benchmark, result, figure, goal.goal, goal.at_most, goal.unit.strip()))
    return rows


def _row(
    name: str, benchmark: str, result: Mapping[str, Any] | None, figure: Any, goal: float, at_most: bool, unit: str
) -> dict[str, Any]:
    measured = float(figure) if isinstance(figure, int | float) else None
    met = None if measured is None else (measured <= goal if at_most else measured >= goal)
    when = result.get("timestamp") if result else None
    return {"row": name, "benchmark": benchmark, "measured": measured, "unit": unit, "goal": goal} | {
        "at_most": at_most,
        "met": met,
        "run_at": when,
    }


def show(rows: list[dict[str, Any]], out: Console) -> None:
    table = Table(title="Issue 14 goals (ratios: Genba ÷ oidc-provider 9 in the same run)")
    for column in ("goal row", "benchmark", "measured", "goal", "met", "run at"):
        table.add_column(column, justify="left" if column in ("goal row", "benchmark", "run at") else "right")
    for row in rows:
        unit = "×" if row["unit"] == "ratio" else f" {row['unit']}"
        measured = "-" if row["measured"] is None else f"{row['measured']:.2f}{unit}"
        goal = f"{'≤' if row['at_most'] else '≥'} {row['goal']:g}{unit}"
        met = {None: "not run", True: "met", False: "NOT met"}[row["met"]]
        table.add_row(row["row"], row["benchmark"], measured, goal, met, row["run_at"] or "-")
    out.print(table)


def add_arguments(parser: Any) -> None:
    """No options: it reads ``bench/results/``."""


def run(args: Any, fresh: Mapping[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    rows = gather(fresh or {})
    show(rows, Console(stderr=True, highlight=False))
    covered = [row for row in rows if row["met"] is not None]
    return {
        "benchmark": "goals",
        "timestamp": timestamp(),
        "ok": bool(covered),
        "machine": machine_info(),
        "goals": rows,
        "met": sum(1 for row in covered if row["met"]),
        "not_met": sum(1 for row in covered if not row["met"]),
        "not_run": len(rows) - len(covered),
    }
