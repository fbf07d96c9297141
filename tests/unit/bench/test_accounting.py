"""bench.accounting: the CPU and statistics arithmetic behind issue 14's "honest accounting in make bench"
(requests per CPU-second of the server + PostgreSQL + Redis, p50/p99), checked on fixed inputs."""

from __future__ import annotations

import math
import os

import pytest

from bench.accounting import CpuLedger, cpu_figures, median_of, parse_stat, percentile, ratio, read_stat, total_ticks
from bench.server import CLK_TCK

# proc(5): pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime …
STAT = "4242 (postgres: 15/main: a (b) c) S 2237 2237 2237 0 -1 4194560 300 0 0 0 70 30 5 6 20 0 1 0 3090"


def test_parse_stat_reads_utime_stime_and_children_after_the_last_parenthesis() -> None:
    """proc(5) fields 14-17; a comm holding spaces and ')' does not shift them."""
    stat = parse_stat(STAT)
    assert (stat.pid, stat.comm, stat.ppid) == (4242, "postgres: 15/main: a (b) c", 2237)
    assert (stat.ticks, stat.child_ticks) == (100, 11)


def test_read_stat_of_this_process_and_of_a_missing_one() -> None:
    """A live process is read from /proc; one that has gone gives None (a backend that exited)."""
    own = read_stat(os.getpid())
    assert own is not None and own.pid == os.getpid() and own.ticks >= 0
    assert read_stat(2**22 + 1) is None  # above pid_max's ceiling: never a live process


def test_total_ticks_adds_reaped_children_only_of_processes_outside_the_set() -> None:
    """The postmaster's cutime/cstime holds its exited backends; a backend's own would count them twice."""
    postmaster = parse_stat("10 (postgres) S 1 10 10 0 -1 0 0 0 0 0 100 50 400 100")
    backend = parse_stat("11 (postgres) S 10 10 10 0 -1 0 0 0 0 0 20 5 7 7")
    assert total_ticks({10: postmaster, 11: backend}) == 150 + 500 + 25


def test_ledger_counts_window_cpu_of_present_new_and_exited_processes() -> None:
    """Present at the start: from its ticks then; born later: from zero; exited: its last observed value."""
    ledger = CpuLedger()
    ledger.start({1: 100, 2: 50})
    ledger.observe({1: 130, 2: 60, 3: 7})  # 3 is a new backend
    ledger.observe({1: 150, 3: 9})  # 2 has exited
    assert ledger.seconds() == pytest.approx((50 + 10 + 9) / CLK_TCK)
    assert ledger.exited(alive=[1, 3]) == 1


def test_cpu_figures_all_in_and_app_only() -> None:
    """requests ÷ (server + PostgreSQL + Redis) beside requests ÷ server; CPU ms per request for each."""
    figures = cpu_figures(1000, 10.0, server=2.0, postgres=0.4, redis=0.1)
    assert figures["requests_per_server_cpu_second"] == pytest.approx(500.0)
    assert figures["requests_per_cpu_second"] == pytest.approx(400.0)
    assert figures["server_cpu_cores"] == pytest.approx(0.2)
    assert figures["cpu_ms_per_request"] == pytest.approx({"server": 2.0, "postgres": 0.4, "redis": 0.1})


def test_cpu_figures_without_services_gives_no_all_in_figure() -> None:
    """No database or cache measured: the all-in figure is absent rather than equal to the app-only one."""
    figures = cpu_figures(10, 1.0, server=0.0)
    assert figures["requests_per_cpu_second"] is None and figures["requests_per_server_cpu_second"] is None


def test_percentile_is_nearest_rank() -> None:
    """p50 / p99 as reported: the smallest value with at least p % at or below it."""
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 99), percentile(values, 100)) == (50.0, 99.0, 100.0)
    assert percentile([3.0], 99) == 3.0
    assert math.isnan(percentile([], 50))


def test_median_and_ratio_skip_missing_figures() -> None:
    """Medians over rounds ignore rounds without the figure; a ratio to nothing is None, not infinity."""
    assert median_of([3.0, None, 1.0, math.nan, 2.0]) == 2.0
    assert median_of([None]) is None
    assert ratio(1.0, 4.0) == 0.25 and ratio(1.0, 0.0) is None and ratio(None, 2.0) is None
