"""bench.peer_report: medians over alternating rounds and issue 14's goals table (ratio and goal per row)."""

from __future__ import annotations

from typing import Any

import pytest

from bench.peer_report import GOALS, combine, summary, worker_rss


def run(rps: float, app: float, all_in: float, p99: float) -> dict[str, Any]:
    return {
        "requests_per_second_median": rps,
        "requests_per_server_cpu_second": app,
        "requests_per_cpu_second": all_in,
        "latency_ms": {"p50": p99 / 4, "p99": p99},
        "cpu_ms_per_request": {"server": 1.0, "postgres": 0.5, "redis": None},
        "failures": 0,
    }


ROUNDS = [
    {"token": {"genba": run(100, 200, 100, 40), "peer": run(100, 100, 100, 20)}},
    {"token": {"genba": run(300, 300, 300, 10), "peer": run(100, 100, 100, 20)}},
    {"token": {"genba": run(100, 100, 50, 30), "peer": run(100, 100, 100, 20)}},
]


def test_combine_takes_medians_of_figures_and_of_per_round_ratios() -> None:
    """Each side's figure is the median over rounds; a ratio is the median of the rounds' own ratios
    (each round compares runs made back to back), not a ratio of medians."""
    token = combine(ROUNDS)["token"]
    assert token["genba"]["requests_per_cpu_second"] == 100
    assert token["genba"]["latency_ms"]["p99"] == 30
    assert token["genba_to_peer"]["per_cpu_second"] == pytest.approx(1.0)  # median of 1, 3, 0.5
    assert token["genba_to_peer"]["per_server_cpu_second"] == pytest.approx(2.0)  # median of 2, 3, 1
    assert token["genba_to_peer"]["p99"] == pytest.approx(1.5)  # median of 2, 0.5, 1.5
    assert token["genba_to_peer_by_round"]["per_cpu_second"] == pytest.approx([1.0, 3.0, 0.5])
    assert len(token["genba"]["rounds"]) == 3 and token["genba"]["failures"] == 0


def test_summary_checks_floors_ceilings_and_marks_rows_not_covered() -> None:
    """Per CPU-second rows are floors (≥), the p99 row and memory are ceilings (≤); rows the run did not
    measure have no verdict; rows of other benchmarks name them."""
    memory = {"at rest": {"genba": {"main": 90.0, "worker 1": 110.0, "worker 2": 130.0}, "peer": {"main": 70.0}}}
    rows = {row["row"]: row for row in summary(combine(ROUNDS), memory)}
    assert len(rows) == len(GOALS)
    per_cpu = rows["client_credentials token, per CPU-second"]
    assert (per_cpu["ratio"], per_cpu["server_only_ratio"], per_cpu["met"]) == (1.0, 2.0, False)
    assert rows["client_credentials token, p99"]["met"] is False  # 1.5× the peer's p99, goal ≤ 0.5×
    rest = rows["RSS per worker at rest, MiB"]
    assert (rest["genba"], rest["peer"], rest["met"]) == (130.0, 70.0, False)  # the largest worker counts
    assert rows["RSS per worker after the load, MiB"]["met"] is None
    assert rows["discovery"]["met"] is None and rows["discovery"]["ratio"] is None
    assert rows["gate card check per core"]["covered_by"] == "bench gate"


def test_worker_rss_uses_workers_or_the_only_process() -> None:
    """Genba: its uvicorn workers, not the supervisor; the peer: its single process."""
    assert worker_rss({"genba": {"main": 300.0, "worker 1": 150.0}, "peer": {"main": 80.0}}) == {
        "genba": 150.0,
        "peer": 80.0,
    }
