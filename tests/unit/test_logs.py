"""No secrets in logs (RFC 9700 §4.2.4; issue 2 item 9)."""

from __future__ import annotations

import json
import logging

from app.logs import JsonFormatter, RedactingFilter, redact


def test_codes_tokens_and_hints_are_redacted_from_paths() -> None:
    line = '127.0.0.1 - "GET /cb?code=abc123&state=xyz&iss=http://x HTTP/1.1" 302'
    assert "abc123" not in redact(line) and "xyz" not in redact(line) and "iss=http://x" in redact(line)
    assert redact("/session/end?id_token_hint=eyJ.a.b") == "/session/end?id_token_hint=[redacted]"
    assert redact("/authorize/continue?interaction=SECRET&lang=en").endswith("interaction=[redacted]&lang=en")


def test_access_log_records_are_redacted_and_json() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/userinfo?access_token=tok123", "1.1", 200),
        None,
    )
    RedactingFilter().filter(record)
    entry = json.loads(JsonFormatter().format(record))
    assert "tok123" not in entry["message"] and entry["logger"] == "uvicorn.access" and "request_id" in entry
