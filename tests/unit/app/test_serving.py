"""The request limits of app/serving.py, driven through the protocol with a fake transport and a
fake event loop whose timers the test fires itself (no sockets, no sleeping)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from app.serving import (
    BODY_TIMEOUT_SECONDS,
    HEAD_TIMEOUT_SECONDS,
    MAX_CONNECTIONS,
    MAX_HEAD_BYTES,
    BoundedHttpToolsProtocol,
    uvicorn_options,
)


async def _app(scope: Any, receive: Any, send: Any) -> None:  # never run: the fake loop drops tasks
    raise AssertionError("not reached")


class Timer:
    def __init__(self, delay: float, callback: Callable[[], None]) -> None:
        self.delay, self.callback, self.cancelled = delay, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class Task:
    def add_done_callback(self, _callback: Any) -> None:
        pass


class FakeLoop:
    def __init__(self) -> None:
        self.timers: list[Timer] = []

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(delay, callback)
        self.timers.append(timer)
        return timer

    def create_task(self, coro: Coroutine[Any, Any, Any], **_kwargs: Any) -> Task:
        coro.close()
        return Task()

    def pending(self) -> list[Timer]:
        return [t for t in self.timers if not t.cancelled]

    def fire(self) -> None:
        (timer,) = self.pending()
        timer.cancelled = True
        timer.callback()


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = self.aborted = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


@pytest.fixture
def made() -> Callable[[], tuple[BoundedHttpToolsProtocol, FakeTransport, FakeLoop]]:
    state = ServerState()
    config = uvicorn.Config(_app, **uvicorn_options())
    config.load()

    def make() -> tuple[BoundedHttpToolsProtocol, FakeTransport, FakeLoop]:
        loop = FakeLoop()
        protocol = BoundedHttpToolsProtocol(config=config, server_state=state, app_state={}, _loop=loop)
        transport = FakeTransport()
        protocol.connection_made(transport)
        return protocol, transport, loop

    return make


def test_a_head_larger_than_the_limit_in_one_piece_is_431(made: Any) -> None:
    """RFC 6585 §5: the whole head arrives at once, complete, but larger than MAX_HEAD_BYTES."""
    protocol, transport, _ = made()
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * MAX_HEAD_BYTES + b"\r\n\r\n")
    assert bytes(transport.written).startswith(b"HTTP/1.1 431 ")
    assert transport.closed


def test_a_head_still_growing_past_the_limit_is_431_before_it_ends(made: Any) -> None:
    protocol, transport, _ = made()
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: ")
    for _ in range(MAX_HEAD_BYTES // 4096 + 1):
        if transport.closed:
            break
        protocol.data_received(b"a" * 4096)
    assert bytes(transport.written).startswith(b"HTTP/1.1 431 ")


def test_a_body_arriving_with_its_head_does_not_count_as_head(made: Any) -> None:
    """A 200 KiB body in the same read as a small head is not a large head."""
    protocol, transport, _ = made()
    body = b"x" * (200 * 1024)
    protocol.data_received(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    assert not transport.is_closing() and transport.written == b""


def test_a_trickled_head_is_cut_off_with_408(made: Any) -> None:
    """Slowloris: the head must be complete HEAD_TIMEOUT_SECONDS after the connection opened."""
    protocol, transport, loop = made()
    protocol.data_received(b"GET / HTTP/1.1\r\nHo")
    (timer,) = loop.pending()
    assert timer.delay == HEAD_TIMEOUT_SECONDS
    protocol.data_received(b"st: a\r\n")  # more bytes do not restart the clock
    assert loop.pending() == [timer]
    loop.fire()
    assert bytes(transport.written).startswith(b"HTTP/1.1 408 ") and transport.closed


def test_a_connection_that_sends_nothing_is_closed(made: Any) -> None:
    _, transport, loop = made()
    loop.fire()
    assert transport.closed and transport.written == b""


def test_a_stalled_body_is_cut_off(made: Any) -> None:
    protocol, transport, loop = made()
    protocol.data_received(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
    (timer,) = loop.pending()
    assert timer.delay == BODY_TIMEOUT_SECONDS
    loop.fire()
    assert transport.closed


def test_a_complete_request_leaves_no_timer_running(made: Any) -> None:
    protocol, transport, loop = made()
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert loop.pending() == [] and not transport.is_closing()


def test_connections_beyond_the_cap_are_dropped_unread(made: Any) -> None:
    first, _, _ = made()
    first.connections.update(object() for _ in range(MAX_CONNECTIONS))
    protocol, transport, loop = made()
    assert transport.aborted and loop.pending() == []
    protocol.connection_lost(None)  # asyncio still reports the loss: nothing to clean up
