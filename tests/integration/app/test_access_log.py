"""The application's access log (app/logs.py::AccessLogMiddleware, docs/operations.md "Logs"): one line per
request, for the protocol front's routes and FastAPI's alike, with the request id the caller sees in
``X-Request-Id`` and the status it got; secrets redacted (RFC 9700 §4.2.4)."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient


def test_front_and_fastapi_requests_each_get_one_line_with_id_and_status(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """One record per request on ``genba.access``: a front route (``/token``, refused), a FastAPI page
    (``/login``) and a refusal before both (NUL in the query), each with its status and request id."""
    caplog.set_level(logging.INFO, logger="genba.access")
    answers = [
        client.post("/token", data={"grant_type": "client_credentials"}, auth=("nobody", "x")),
        client.get("/login?code=secret-code"),
        client.get("/jwks?x=%00"),
    ]
    lines = [r for r in caplog.records if r.name == "genba.access"]
    assert [(r.access["status"], r.access["request_id"]) for r in lines] == [  # type: ignore[attr-defined]
        (a.status_code, a.headers["x-request-id"]) for a in answers
    ]
    assert [a.status_code for a in answers] == [401, 200, 400]
    assert "secret-code" not in caplog.text and "/login?code=[redacted]" in lines[1].getMessage()
