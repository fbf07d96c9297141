"""Issue 14 ("the other hot loops … how many statements per record"): a consent decision reads the
database in two statements — the relationship facts of docs/domain.md rules 2-5 (affiliation, the
principal's organisation, assignments and every site's tiers) in one, the caller's consent requests
(rule 1) in the other — whoever asks; ``active`` reads the consents a token relies on in one. Counted
with SQLAlchemy's ``before_cursor_execute``, on SQLite and PostgreSQL. Not timed: ``bench consent``
measures the time.

The world is described in ``conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from tests.integration.consent.conftest import T1, World


@contextmanager
def counted(world: World) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(world.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(world.engine, "before_cursor_execute", count)


@pytest.mark.parametrize(
    ("principal", "sees", "why"),
    [
        ("T1", True, "everything: rule 1, the technician"),
        ("E3", True, "everything: the current employer"),
        ("E1", True, "the roster: rule 2, the prime contractor"),
        ("E2", True, "the roster: rule 2, an upper tier"),
        ("E6", False, "nothing: rule 4, a proxy registrant"),
        ("O1", True, "the purpose fields: rule 5, the orderer"),
        ("C4", True, "what is consented: rule 1, a third party's system"),
    ],
)
def test_a_decision_reads_the_database_in_two_statements(world: World, principal: str, sees: bool, why: str) -> None:
    consent = world.request("C4", ["contact", "qualifications"])
    world.approve(consent.id, "T1", "E3")
    world.decide(principal)  # first use: SQLAlchemy compiles the statements once per dialect
    with counted(world) as statements:
        decision = world.decide(principal)
    assert bool(decision.allowed) is sees, why
    assert len(statements) == 2, statements


def test_active_reads_the_consents_of_a_token_in_one_statement(world: World) -> None:
    consent = world.request("C4", ["contact"])
    world.approve(consent.id, "T1", "E3")
    with counted(world) as statements:
        assert world.service.active((consent.id,), now=world.now)
    assert len(statements) == 1, statements
    assert world.decide("C4", T1).consent_ids == (consent.id,)
