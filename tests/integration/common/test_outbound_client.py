"""The outbound client (common/outbound.py, issue 12 hole 6) against real HTTP servers on loopback:
refused before any connection without the development setting, and with it still bounded in size
and time, never following a redirect."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from common.outbound import OutboundPolicy, OutboundRefused, client

DEVELOPMENT = OutboundPolicy(allow_private=True, timeout=2.0, deadline=5.0, max_bytes=10_000)


class Internal:
    def __init__(self) -> None:
        self.hits: list[str] = []
        self.release = threading.Event()  # the "slow" answer waits for it


@pytest.fixture
def internal() -> Iterator[tuple[str, Internal]]:
    state = Internal()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits.append(self.path)
            if self.path == "/big":
                self.send_response(200)
                self.end_headers()  # no Content-Length: the body runs until the connection closes
                self.wfile.write(b"x" * 50_000)
                self.close_connection = True
            elif self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path == "/slow":
                self.send_response(200)
                self.send_header("Content-Length", "10")
                self.end_headers()
                state.release.wait(30)
            else:
                body = self.headers.get("host", "").encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


def test_loopback_is_refused_before_connecting(internal: tuple[str, Internal]) -> None:
    base, state = internal
    port = base.rsplit(":", 1)[1]
    for url in (base + "/internal?x=1", f"http://localhost:{port}/internal", f"http://[::ffff:127.0.0.1]:{port}/"):
        with client(OutboundPolicy()) as http, pytest.raises(OutboundRefused) as refused:
            http.post(url, data={"logout_token": "t"})
        assert refused.value.kind == "loopback"
    assert state.hits == []  # no connection reached the internal server


def test_the_development_setting_reaches_loopback_with_the_host_name_kept(internal: tuple[str, Internal]) -> None:
    base, state = internal
    port = base.rsplit(":", 1)[1]
    with client(DEVELOPMENT) as http:
        response = http.get(f"http://localhost:{port}/hello")
    assert response.status_code == 200 and response.text == f"localhost:{port}"  # connected by address, Host kept
    assert state.hits == ["/hello"]


def test_a_response_larger_than_allowed_is_cut_off(internal: tuple[str, Internal]) -> None:
    base, _ = internal
    with client(DEVELOPMENT) as http, pytest.raises(httpx.ReadError):
        http.get(base + "/big")


def test_redirects_are_never_followed(internal: tuple[str, Internal]) -> None:
    base, state = internal
    with client(DEVELOPMENT) as http:
        response = http.get(base + "/redirect")
    assert response.status_code == 302 and state.hits == ["/redirect"]


def test_a_stalled_answer_times_out(internal: tuple[str, Internal]) -> None:
    base, _ = internal
    quick = OutboundPolicy(allow_private=True, timeout=0.5, deadline=1.0)
    with client(quick) as http, pytest.raises(httpx.TimeoutException):
        http.get(base + "/slow")
