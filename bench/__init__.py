"""Benchmarks of Genba ID (``python -m bench`` / ``make bench``).

Each benchmark is a module with ``DESCRIPTION``, ``add_arguments(parser)`` and ``run(args) -> dict``,
registered in :data:`bench.__main__.BENCHMARKS`. ``run`` prints its own table and returns a
JSON-ready dict with an ``ok`` key; the runner saves it as ``bench/results/<name>.json``.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def machine_info() -> dict[str, Any]:
    """What the figures depend on: the cores this process may use, the CPU and the interpreter."""
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }


def timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def rounded(value: Any, digits: int = 4) -> Any:
    """Floats rounded for reading (nested dicts and lists too), NaN and infinities as null."""
    if isinstance(value, float):
        return round(value, digits) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item, digits) for item in value]
    return value


def write_result(name: str, data: dict[str, Any], directory: Path = RESULTS_DIR) -> Path:
    """Write ``<directory>/<name>.json`` atomically (``*.tmp`` then rename; ``*.tmp`` is git-ignored)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(rounded(data), ensure_ascii=False, indent=2, allow_nan=False) + "\n")
    tmp.replace(path)
    return path
