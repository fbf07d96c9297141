"""A real HTTP endpoint on loopback that records what relying-party callbacks receive."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass
class Receiver:
    url: str
    received: list[dict[str, str]] = field(default_factory=list)
    fail_next: int = 0
    #: set when any request arrives (tests wait on it instead of sleeping)
    arrived: threading.Event = field(default_factory=threading.Event)


@contextmanager
def receiver() -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            rec = state["r"]
            rec.arrived.set()
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length).decode()
            if rec.fail_next > 0:
                rec.fail_next -= 1
                self.send_response(500)
                self.end_headers()
                return
            rec.received.append({k: v[0] for k, v in parse_qs(body).items()})
            self.send_response(200)
            self.send_header("Cache-Control", "no-store")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["r"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/backchannel")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["r"]
    finally:
        server.shutdown()
        server.server_close()
