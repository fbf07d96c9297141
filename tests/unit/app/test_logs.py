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


def test_path_segments_that_grant_something_are_redacted() -> None:
    """The credential offer (it hands out the pre-authorized code) and the gate's presentation
    request (its id answers it) are capabilities in the path; other paths are left as they are."""
    line = '127.0.0.1:5000 - "GET /wallet/offers/Zk3-_offer HTTP/1.1" 200'
    assert redact(line) == '127.0.0.1:5000 - "GET /wallet/offers/[redacted] HTTP/1.1" 200'
    assert redact("GET /gate/requests/r1d/object") == "GET /gate/requests/[redacted]/object"
    assert redact("GET /gate/requests/r1d/result?x=1") == "GET /gate/requests/[redacted]/result?x=1"
    assert redact("POST /gate/responses/r1d") == "POST /gate/responses/[redacted]"
    assert redact("POST /gate/requests HTTP/1.1") == "POST /gate/requests HTTP/1.1"
    assert redact("GET /api/v1/technicians/10000000000019") == "GET /api/v1/technicians/10000000000019"
    encoded = "openid-credential-offer://?x=https%3A%2F%2Fid.example%2Fwallet%2Foffers%2FZk3"
    assert "Zk3" not in redact(encoded)
    assert redact("/wallet/add?credential_offer_uri=https://a/b") == "/wallet/add?credential_offer_uri=[redacted]"
