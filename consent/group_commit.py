"""Group commit of disclosure records (docs/domain.md rule 6, APPI art. 29): every disclosure is
recorded, and a response that discloses is not sent before its record is durable.

Every record joins one hash chain (``consent/records.py``), so appending takes the chain head's row
lock; one transaction per disclosure makes every concurrent userinfo or data API call queue on that
lock and pay a commit of its own. :class:`GroupRecorder` lets the disclosures that arrive together
share one: one head lock, one multi-row ``INSERT``, one ``COMMIT`` for the whole batch.

Leader and followers, no thread of its own: the first caller to find no batch being written
becomes the leader; it takes what is queued (itself first, at most ``max_batch`` entries, after
lingering up to ``max_wait`` seconds for the batch to fill while others are also queued), writes
them, then wakes every caller of the batch and hands the lead to the first caller still queued. A
caller waits only on its own ``threading.Event``; it returns once its batch has committed, and when
the batch failed every caller of it gets :class:`RecordNotDurable` (the disclosure must not leave).
While one batch is being written the next one fills, so the batch size follows the load by itself:
a lone caller pays one transaction as before, and never waits for company that is not coming.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from common.errors import GenbaError
from consent.records import Entry


class RecordNotDurable(GenbaError, RuntimeError):
    """The batch holding this disclosure's record did not commit: nothing of it may be disclosed
    (500 ``server_error``, rendered like every other product error, never a stack trace)."""


@dataclass(eq=False)
class _Waiter:
    entry: Entry
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False  # woken to write the next batch, not because its own batch is done
    error: BaseException | None = None


class GroupRecorder:
    """Appends :class:`consent.records.Entry` values through ``write`` (one transaction per batch,
    the batch in seq order), blocking each caller until its batch is durable.

    ``max_batch`` bounds the entries of one transaction; ``max_wait`` (seconds of ``clock``, a
    monotonic clock) bounds how long a leader lingers for more entries, and only when it already
    has company (0: write at once what is queued). A caller waits at most for the batch being
    written plus its own (and more only when over ``max_batch`` callers are queued before it)."""

    def __init__(
        self,
        write: Callable[[Sequence[Entry]], None],
        *,
        max_batch: int = 64,
        max_wait: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_batch < 1 or max_wait < 0:
            raise ValueError("max_batch must be at least 1 and max_wait not negative")
        self._write = write
        self._max_batch = max_batch
        self._max_wait = max_wait
        self._clock = clock
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._queue: deque[_Waiter] = deque()
        self._writing = False  # a leader holds the lead (lingering, writing or handing over)

    def record(self, entry: Entry) -> None:
        """Return once ``entry`` is committed in the chain; raise :class:`RecordNotDurable` if its
        batch failed (then no entry of that batch was recorded)."""
        me = _Waiter(entry)
        with self._lock:
            self._queue.append(me)
            leader = not self._writing
            self._writing = True
            self._arrived.notify_all()  # a lingering leader counts arrivals (and so may a watcher)
        if not leader:
            me.done.wait()
        if leader or me.lead:
            self._lead()
        if me.error is not None:
            raise RecordNotDurable("the disclosure record was not committed") from me.error

    def wait_for_queue(self, count: int, timeout: float) -> bool:
        """Wait until at least ``count`` callers are queued (not yet in a batch being written): for
        tests and monitoring, so they need not sleep. False when ``timeout`` seconds pass first."""
        with self._lock:
            return self._arrived.wait_for(lambda: len(self._queue) >= count, timeout)

    def _lead(self) -> None:
        """Write one batch (the leader's own entry is at the head of the queue), release it, hand over."""
        with self._lock:
            if self._max_wait > 0 and 1 < len(self._queue) < self._max_batch:
                deadline = self._clock() + self._max_wait
                while len(self._queue) < self._max_batch and (left := deadline - self._clock()) > 0:
                    self._arrived.wait(left)
            batch = [self._queue.popleft() for _ in range(min(self._max_batch, len(self._queue)))]
        error: BaseException | None = None
        try:
            self._write([w.entry for w in batch])
        except BaseException as exc:  # every caller of the batch is told; none of it was committed
            error = exc
        with self._lock:
            successor = self._queue[0] if self._queue else None
            self._writing = successor is not None
            if successor is not None:
                successor.lead = True
        for waiter in batch:
            waiter.error = error
            waiter.done.set()
        if successor is not None:
            successor.done.set()
