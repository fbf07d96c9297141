"""Rule 6 (docs/domain.md: every disclosure is recorded; APPI art. 29) under group commit
(``consent/group_commit.py``): disclosures recorded at the same moment share one transaction, the
chain stays gap-free and verifiable in the order the callers queued, a caller is released only once
its record is committed, and a batch that fails records nothing and fails every caller of it.

On SQLite and PostgreSQL. No sleeping: the first batch's writer is held on an event while the others
queue (``GroupRecorder.wait_for_queue``), and the clock of a lingering leader is frozen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session

from consent import records
from consent.group_commit import GroupRecorder, RecordNotDurable
from consent.ports import Decision, Party
from consent.service import ConsentService
from tests.support.clock import FrozenClock

TECHNICIAN = "10000000000019"
DECISION = Decision(allowed=frozenset({"identity"}), rules=("two-party-consent",), consent_ids=("c-1",))
WAIT = 30.0  # seconds before a stuck test fails instead of hanging


class HeldWriter:
    """``records.commit_batch`` that holds its first batch until ``release`` is set, and remembers
    each batch's entries and the statements it took. ``fail_batches``: batches (numbered from 0)
    that append and then raise before COMMIT, as a failed commit would."""

    def __init__(self, engine: Engine, *, fail_batches: frozenset[int] = frozenset()) -> None:
        self.engine = engine
        self.writing, self.release = threading.Event(), threading.Event()
        self.batches: list[list[records.Entry]] = []
        self.statements: list[list[str]] = []
        self.fail_batches = fail_batches

    def __call__(self, entries: Sequence[records.Entry]) -> None:
        number = len(self.batches)
        self.batches.append(list(entries))
        seen: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            seen.append(statement)

        with self.engine.begin() as connection:
            event.listen(connection, "before_cursor_execute", count)
            records.append_batch(connection, entries)
            event.remove(connection, "before_cursor_execute", count)
            self.statements.append(seen)
            if number == 0:
                self.writing.set()
                assert self.release.wait(WAIT)
            if number in self.fail_batches:
                raise RuntimeError("the database went away before COMMIT")


def _service(engine: Engine, recorder: GroupRecorder) -> ConsentService:
    return ConsentService(engine, None, None, recorder=recorder)  # type: ignore[arg-type]  # recording only


def _disclose(service: ConsentService, clock: FrozenClock, n: int) -> Callable[[], None]:
    def one() -> None:
        service.record_disclosure(
            Party("client", f"client-{n}"), TECHNICIAN, ["name"], DECISION, now=clock(), channel=f"userinfo:{n}"
        )

    return one


class Callers:
    """Threads each recording one disclosure; what each one ended with (None: returned normally)."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self.outcome: dict[int, BaseException | None] = {}

    def start(self, n: int, work: Callable[[], None]) -> threading.Thread:
        def run() -> None:
            try:
                work()
                self.outcome[n] = None
            except BaseException as exc:
                self.outcome[n] = exc

        thread = threading.Thread(target=run, name=f"caller-{n}")
        self.threads.append(thread)
        thread.start()
        return thread

    def join(self) -> None:
        for thread in self.threads:
            thread.join(WAIT)
            assert not thread.is_alive()


def test_concurrent_disclosures_land_as_consecutive_entries_in_one_transaction(
    engine: Engine, db: Session, clock: FrozenClock
) -> None:
    """Rule 6: eight disclosures at once are eight consecutive entries that verify, in the order the
    callers queued; the seven that queued while the first was being written share one transaction
    of three statements (head locked and read, one multi-row INSERT, head moved)."""
    writer = HeldWriter(engine)
    recorder = GroupRecorder(writer)
    service, callers = _service(engine, recorder), Callers()
    callers.start(0, _disclose(service, clock, 0))
    assert writer.writing.wait(WAIT)
    for n in range(1, 8):
        callers.start(n, _disclose(service, clock, n))
    assert recorder.wait_for_queue(7, WAIT)
    writer.release.set()
    callers.join()

    assert callers.outcome == dict.fromkeys(range(8))
    assert [len(b) for b in writer.batches] == [1, 7]
    assert len(writer.statements[1]) == 3, writer.statements[1]
    assert records.verify(db) == (True, 8, None)
    chain = records.for_technician(db, TECHNICIAN)
    assert [e["seq"] for e in chain] == list(range(1, 9))
    queued = [e.actor for batch in writer.batches for e in batch]
    assert [e["actor"] for e in chain] == queued  # seq order = the order the callers queued
    assert {e["recipient"] for e in chain} == {f"client:client-{n}" for n in range(8)}


def test_a_failed_batch_records_nothing_and_every_caller_of_it_gets_the_error(
    engine: Engine, db: Session, clock: FrozenClock
) -> None:
    """Rule 6, APPI art. 29: when a batch's transaction fails, none of its disclosures is recorded
    and each of its callers is told (so none of them discloses); the batch before it stands, the
    chain still verifies, and the next disclosure is recorded as usual."""
    writer = HeldWriter(engine, fail_batches=frozenset({1}))
    recorder = GroupRecorder(writer)
    service, callers = _service(engine, recorder), Callers()
    callers.start(0, _disclose(service, clock, 0))
    assert writer.writing.wait(WAIT)
    for n in range(1, 5):
        callers.start(n, _disclose(service, clock, n))
    assert recorder.wait_for_queue(4, WAIT)
    writer.release.set()
    callers.join()

    assert callers.outcome[0] is None
    failed = [callers.outcome[n] for n in range(1, 5)]
    assert all(isinstance(exc, RecordNotDurable) for exc in failed), failed
    assert all(isinstance(exc.__cause__, RuntimeError) for exc in failed if exc is not None)
    assert records.verify(db) == (True, 1, None)

    _disclose(service, clock, 5)()
    assert records.verify(db) == (True, 2, None)
    assert [e["actor"] for e in records.for_technician(db, TECHNICIAN)] == ["userinfo:0", "userinfo:5"]


def test_a_caller_is_not_released_before_its_record_is_committed(
    engine: Engine, db: Session, clock: FrozenClock
) -> None:
    """APPI art. 29 / rule 6, durability before disclosure: while the record's transaction has not
    committed, the caller (the response that discloses) is still waiting and no reader sees the
    record; once it commits, the caller returns and the record is there."""
    writer = HeldWriter(engine)
    service, callers = _service(engine, GroupRecorder(writer)), Callers()
    caller = callers.start(0, _disclose(service, clock, 0))
    assert writer.writing.wait(WAIT)  # appended, COMMIT held back

    assert caller.is_alive() and 0 not in callers.outcome
    with Session(engine) as reader:
        assert records.verify(reader) == (True, 0, None)
    writer.release.set()
    callers.join()
    assert callers.outcome == {0: None}
    assert records.verify(db) == (True, 1, None)


@pytest.mark.parametrize(
    ("max_batch", "max_wait", "queued_first", "sizes"), [(2, 0.0, 4, [1, 2, 2]), (4, 60.0, 3, [1, 4])]
)
def test_batches_are_bounded_and_a_lingering_leader_waits_for_a_full_batch(
    engine: Engine,
    db: Session,
    clock: FrozenClock,
    max_batch: int,
    max_wait: float,
    queued_first: int,
    sizes: list[int],
) -> None:
    """Rule 6 under load: no transaction holds more than ``max_batch`` records (four queued, two per
    transaction); with ``max_wait`` a leader that has company waits (on a frozen clock: until the
    batch is full, here for a caller that comes after it took the lead) before writing; every
    record lands once, in order."""
    writer = HeldWriter(engine)
    recorder = GroupRecorder(writer, max_batch=max_batch, max_wait=max_wait, clock=lambda: 1000.0)
    service, callers = _service(engine, recorder), Callers()
    callers.start(0, _disclose(service, clock, 0))
    assert writer.writing.wait(WAIT)
    for n in range(1, queued_first + 1):
        callers.start(n, _disclose(service, clock, n))
    assert recorder.wait_for_queue(queued_first, WAIT)
    writer.release.set()
    for n in range(queued_first + 1, 5):
        callers.start(n, _disclose(service, clock, n))
    callers.join()
    assert callers.outcome == dict.fromkeys(range(5))
    assert [len(b) for b in writer.batches] == sizes
    assert records.verify(db) == (True, 5, None)
