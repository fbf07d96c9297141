"""How the service is served: one uvicorn configuration for ``genba serve``, the Docker image (which
runs ``genba serve``) and the test servers (``genba serve --fd``), so every one of them refuses what
the others refuse.

uvicorn's fast parser (httptools, i.e. llhttp) has no limit on the size of a request head: llhttp
leaves that to its embedder (Node enforces ``--max-http-header-size`` itself), and uvicorn does not,
so a 50 MB header was read into memory and answered 200. h11, uvicorn's other parser, has a limit
(``h11_max_incomplete_event_size``) but is pure Python and several times slower. The choice here:
keep llhttp and enforce the limits the way Node does, in :class:`BoundedHttpToolsProtocol`:

- the request line and headers together may take :data:`MAX_HEAD_BYTES`; beyond that the request is
  answered ``431 Request Header Fields Too Large`` (RFC 6585 §5) and the connection closed;
- the head must arrive within :data:`HEAD_TIMEOUT_SECONDS` of its first byte (or of the connection
  being opened), the body within :data:`BODY_TIMEOUT_SECONDS` of the head: a client that trickles
  bytes (slowloris) loses its connection instead of holding it and its memory forever;
- a worker serves at most :data:`MAX_CONNECTIONS` connections: one more is closed before a byte is
  read. At :data:`LIMIT_CONCURRENCY` connections or requests, uvicorn answers new requests 503;
- idle keep-alive connections close after :data:`KEEP_ALIVE_SECONDS` (uvicorn's default, chosen
  here on purpose); nothing is served over WebSocket, so upgrades are not offered.

Bodies are limited by the application (``GENBA_MAX_BODY_BYTES``, app/middleware.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from common.errors import GenbaError
from common.messages import message

#: request line + headers: 64 KiB (nginx allows 4 x 8 KiB, Node 16 KiB; signed request objects in
#: the query and DPoP proofs fit several times over)
MAX_HEAD_BYTES = 64 * 1024
HEAD_TIMEOUT_SECONDS = 20.0
BODY_TIMEOUT_SECONDS = 60.0  # 1 MB (the body limit) at 17 KB/s: a weak mobile link at a site
KEEP_ALIVE_SECONDS = 5
LIMIT_CONCURRENCY = 1000
MAX_CONNECTIONS = 2000
#: each connection's head costs at most MAX_HEAD_BYTES plus one read: 2000 x 64 KiB = 125 MiB at worst


def uvicorn_options() -> dict[str, Any]:
    """The keyword arguments of ``uvicorn.Config`` that carry the limits above."""
    return {
        "http": BoundedHttpToolsProtocol,
        "ws": "none",
        "limit_concurrency": LIMIT_CONCURRENCY,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "server_header": False,
        "date_header": True,
        # the application writes the access log itself (app/logs.py::AccessLogMiddleware), once per
        # request, with the request id; uvicorn's would be a second, slower line
        "access_log": False,
    }


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a head size limit, head and body read timeouts and a cap
    on open connections (module docstring)."""

    max_head_bytes = MAX_HEAD_BYTES
    head_timeout = HEAD_TIMEOUT_SECONDS
    body_timeout = BODY_TIMEOUT_SECONDS
    max_connections = MAX_CONNECTIONS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reading_head = True
        self._raw_head_bytes = 0  # bytes received since the head began (an upper bound of its size)
        self._head_size = 0  # request target + header names and values, as parsed
        self._head_too_large = False
        self._read_timer: asyncio.TimerHandle | None = None

    # -- connection ------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.server_state.connections) >= self.max_connections:
            transport.abort()  # nothing read, nothing answered: the cheapest refusal
            return
        super().connection_made(transport)
        self._arm(self.head_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self.transport is None:  # refused in connection_made
            return
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._reading_head:
            if self._read_timer is None:
                self._arm(self.head_timeout)
            self._raw_head_bytes += len(data)
        super().data_received(data)
        # llhttp keeps no head of its own, but httptools joins a header's pieces until the header
        # ends: stop a head that is still growing past the limit, whatever its shape.
        if self._reading_head and self._raw_head_bytes > self.max_head_bytes and not self.transport.is_closing():
            self._refuse(431, "request header fields too large")

    def send_400_response(self, msg: str) -> None:
        """uvicorn answers every parser error 400; a head refused for its size is a 431."""
        if self._head_too_large:
            self._refuse(431, "request header fields too large")
        else:
            super().send_400_response(msg)

    # -- parser callbacks ------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._head_size = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._head_size > self.max_head_bytes:
            self._head_too_large = True
            raise HeadTooLarge  # httptools stops parsing; uvicorn calls send_400_response
        self._reading_head = False
        self._arm(self.body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()
        self._reading_head, self._raw_head_bytes = True, 0

    # -- refusals --------------------------------------------------------------------------------

    def _refuse(self, status: int, message: str) -> None:
        self._disarm()
        body = (message + "\n").encode("ascii")
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._read_timer = self.loop.call_later(seconds, self._read_timed_out)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _read_timed_out(self) -> None:
        """The head or the body did not arrive in time: 408 if nothing was answered yet, then close."""
        self._read_timer = None
        if self.transport.is_closing():
            return
        if self._reading_head and self._raw_head_bytes > 0:
            self._refuse(408, "request timeout")
        else:  # an idle new connection, or a body cut short while the application waits for it
            self.transport.close()


class HeadTooLarge(GenbaError):
    """Raised from a parser callback to stop httptools (it re-raises it as HttpParserCallbackError);
    the request head is larger than allowed (RFC 6585 §5: 431)."""

    code = "request_header_fields_too_large"
    status = 431

    def __init__(self) -> None:
        super().__init__(message("http.head_too_large"), args=())
