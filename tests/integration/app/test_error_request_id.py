"""A 500 is logged with the request's id and answered with it (issue 12 item 8: the error log line
said ``request id -``, because Starlette runs the last-resort handler outside the middleware that
sets the id). A route that fails is added to the real application for the test."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient


def _failing(app: FastAPI) -> None:
    def fail() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/v1/broken-for-test", fail)
    app.add_api_route("/broken-for-test", fail)


def test_the_error_log_line_and_the_answer_carry_the_request_id(app: FastAPI, caplog: pytest.LogCaptureFixture) -> None:
    _failing(app)
    with TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as api:
        caplog.set_level(logging.ERROR, logger="genba.app")
        response = api.get("/api/v1/broken-for-test", headers={"X-Request-Id": "rid-item8-0001"})
    assert response.status_code == 500 and response.headers["x-request-id"] == "rid-item8-0001"
    assert response.json()["error"] == "server_error" and "Traceback" not in response.text
    [line] = [r for r in caplog.records if r.name == "genba.app" and r.levelno >= logging.ERROR]
    assert line.getMessage() == "unhandled error (request id rid-item8-0001)"


def test_a_generated_request_id_is_logged_too_and_pages_stay_readable(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    _failing(app)
    with TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as api:
        caplog.set_level(logging.ERROR, logger="genba.app")
        response = api.get("/broken-for-test", headers={"Accept": "text/html"})
    rid = response.headers["x-request-id"]
    assert response.status_code == 500 and len(rid) == 16 and "処理中に問題が発生しました" in response.text
    assert "Traceback" not in response.text and "a bug" not in response.text
    assert any(r.getMessage() == f"unhandled error (request id {rid})" for r in caplog.records)
