"""bench.goals: issue 14's goals table gathered from the peer, consent, gate and connectors results
(issue 14, "make bench … prints the table above with the ratios, and bench/results/ records it")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.goals import gather

PEER: dict[str, Any] = {
    "timestamp": "2026-12-07T20:00:00+00:00",
    "goals": [
        {"row": "client_credentials token, per CPU-second", "goal": 2.0, "at_most": False, "genba": 300.0}
        | {"ratio": 2.5, "covered_by": "bench peer"},
        {"row": "client_credentials token, p99", "goal": 0.5, "at_most": True, "genba": 9.0}
        | {"ratio": 0.7, "covered_by": "bench peer"},
        {"row": "RSS per worker at rest, MiB", "goal": 120.0, "at_most": True, "genba": 110.0}
        | {"ratio": None, "covered_by": "bench peer"},
        {"row": "gate card check per core", "goal": None, "at_most": False, "genba": None}
        | {"ratio": None, "covered_by": "bench gate"},
    ],
}
GATE = {"timestamp": "2026-12-06T10:00:00+00:00"} | {
    "results": {"check_general": {"per_cpu_second": 2100.0}, "check_crane": {"per_cpu_second": 650.0}}
}


def _by_row(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["row"]: row for row in rows}


def test_ratio_rows_use_the_ratio_and_ceilings_compare_downwards(tmp_path: Path) -> None:
    """A floor goal is met at or above it, a ceiling (p99 ratio, MiB) at or below it; memory rows read
    Genba's MiB, ratio rows the Genba ÷ peer ratio; a peer row that another benchmark covers is not
    repeated empty."""
    rows = _by_row(gather({"peer": PEER}, tmp_path))
    assert rows["client_credentials token, per CPU-second"]["measured"] == 2.5
    assert rows["client_credentials token, per CPU-second"]["met"] is True
    assert rows["client_credentials token, p99"]["met"] is False  # 0.7 > 0.5 ceiling
    assert rows["RSS per worker at rest, MiB"]["measured"] == 110.0
    assert rows["RSS per worker at rest, MiB"]["met"] is True
    assert "gate card check per core" not in rows


def test_absolute_rows_come_from_fresh_results_else_saved_files_else_not_run(tmp_path: Path) -> None:
    """Each absolute row names the run it came from; without any result it is 'not run' (None), never
    met by default."""
    (tmp_path / "gate.json").write_text(json.dumps(GATE))
    rows = _by_row(gather({}, tmp_path))
    general, crane = rows["gate card check per core, general work"], rows["gate card check per core, crane work"]
    assert (general["measured"], general["met"], general["run_at"]) == (2100.0, True, GATE["timestamp"])
    assert (crane["measured"], crane["met"]) == (650.0, False)
    consent = rows["consent decision in-process, p99"]
    assert consent["measured"] is None and consent["met"] is None
    fresh = {"consent": {"timestamp": "now", "results": {"in_process": {"decide": {"p99_ms": 0.4}}}}}
    consent = _by_row(gather(fresh, tmp_path))["consent decision in-process, p99"]
    assert (consent["measured"], consent["met"], consent["run_at"]) == (0.4, True, "now")
