"""No secrets in logs (RFC 9700 §4.2.4; issue 2 item 9)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.middleware.errors import ServerErrorMiddleware
from starlette.responses import Response

from app.logs import ACCESS, AccessLogMiddleware, JsonFormatter, RedactingFilter, redact
from app.middleware import SecurityHeadersMiddleware


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


class _Lines(logging.Handler):
    """Collects formatted lines as the service's stderr handler formats them (app/logs.py::configure)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.addFilter(RedactingFilter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _served(
    app: Any, path: str, query: bytes, headers: list[tuple[bytes, bytes]], *, inner: bool = True
) -> list[dict[str, Any]]:
    """One request through AccessLogMiddleware around ``app`` (by default around SecurityHeadersMiddleware
    around ``app``, as app/factory.py stacks them)."""
    lines = _Lines()
    ACCESS.addHandler(lines)
    ACCESS.setLevel(logging.INFO)
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "headers": headers,
        "http_version": "1.1",
        "client": ("192.0.2.7", 5000),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    stack = AccessLogMiddleware(SecurityHeadersMiddleware(app) if inner else app)

    async def one() -> None:
        with contextlib.suppress(RuntimeError):  # the broken apps' own error, raised after the line is written
            await stack(scope, receive, send)

    try:
        # in a thread of its own: in a test process where Playwright's sync API keeps an event loop running
        # on the main thread, asyncio.run() there raises RuntimeError and nothing would be served
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, one()).result()
    finally:
        ACCESS.removeHandler(lines)
        ACCESS.setLevel(logging.NOTSET)
    return [json.loads(line) for line in lines.lines]


def test_the_access_log_writes_one_redacted_json_line_with_the_request_id() -> None:
    """RFC 9700 §4.2.4 (no tokens in logs): the application's access line (it replaced uvicorn's) keeps the
    path but not the token, carries the request's id and its status, and is one JSON object."""

    async def ok(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    (entry,) = _served(ok, "/userinfo", b"access_token=tok123&lang=en", [(b"x-request-id", b"rid-42")])
    assert "tok123" not in json.dumps(entry)
    assert entry["message"] == '192.0.2.7:5000 - "GET /userinfo?access_token=[redacted]&lang=en HTTP/1.1" 200'
    assert entry["logger"] == "genba.access" and entry["request_id"] == "rid-42"
    assert entry["access"]["status"] == 200 and entry["access"]["path"] == "/userinfo?access_token=[redacted]&lang=en"


def test_an_error_is_logged_with_the_status_the_last_resort_answered() -> None:
    """The access log wraps Starlette's last-resort middleware (app/factory.py::GenbaApp): an exception that
    the last resort answers 503 (a database that is down, app/error_handlers.py) is logged 503, not 500; the
    credential offer's id in the path is redacted (hole 10)."""

    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("database is down")

    async def unavailable(request: Any, exc: Exception) -> Response:
        return Response(status_code=503)

    app = ServerErrorMiddleware(SecurityHeadersMiddleware(broken), handler=unavailable)
    (entry,) = _served(app, "/wallet/offers/Zk3-offer", b"", [], inner=False)
    assert entry["access"]["status"] == 503 and "Zk3" not in json.dumps(entry)
    assert entry["message"].endswith('"GET /wallet/offers/[redacted] HTTP/1.1" 503')


def test_an_error_nothing_answered_is_logged_as_500() -> None:
    """An exception that escapes before any answer is what the server turns into a 500 (RFC 9110 §15.6.1)."""

    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    (entry,) = _served(broken, "/token", b"", [])
    assert entry["access"]["status"] == 500
