"""The benchmark counts the server's error lines (bench/README.md, "peer": "the error lines of each server's
log counted by kind"), whichever JSON spacing the server writes: orjson's compact lines (app/logs.py) too."""

from __future__ import annotations

import json

from bench.loadgen import log_errors


def test_compact_and_spaced_json_error_lines_are_counted_by_their_error() -> None:
    """An error line counts under its ``error`` (else its message); info lines do not count."""
    entry = {"level": "error", "logger": "genba.app", "message": "unhandled", "error": "RuntimeError: boom"}
    compact = json.dumps(entry, separators=(",", ":"))
    spaced = json.dumps(entry)
    info = json.dumps({"level": "info", "message": "fine"}, separators=(",", ":"))
    assert log_errors("\n".join([compact, spaced, info])) == {"RuntimeError: boom": 2}
