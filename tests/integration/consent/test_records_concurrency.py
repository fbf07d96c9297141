"""Rule 6: every disclosure is recorded, also when many arrive at once (the chain never forks)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine
from sqlmodel import Session

from consent import records
from consent.ports import Decision, Party
from consent.service import ConsentService
from tests.support.clock import FrozenClock


class _NoDirectory:
    pass


def test_concurrent_disclosure_records_all_land_in_one_chain(engine: Engine, db: Session, clock: FrozenClock) -> None:
    service = ConsentService(engine, _NoDirectory(), None)  # type: ignore[arg-type]
    decision = Decision(allowed=frozenset({"identity"}), rules=("two-party-consent",))

    def write(n: int) -> None:
        for i in range(25):
            service.record_disclosure(
                Party("company", f"3100000000{n:04d}"),
                "10000000000019",
                ["name"],
                decision,
                now=clock(),
                channel=f"test:{i}",
            )

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(write, range(6)))
    ok, count, bad = records.verify(db)
    assert (ok, count, bad) == (True, 150, None)
