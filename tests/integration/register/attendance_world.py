"""A small attendance world for the issue 16 tests: a prime contractor's site, the technician's employer
on it, the technician assigned through it, a third party's system and the employer's own system, and
entries and exits handed to the register through the gate's port (``GateDirectory.record``, the call the
online presentation and the offline upload both make after recording the gate's event)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi import FastAPI
from sqlmodel import Session

from common.japan_time import JAPAN
from tests.support.world import world_of
from wallet.gate.ports import Entry

PRIME, EMPLOYER, THIRD = "31000000000034", "31000000000018", "31000000000042"
TECHNICIAN = "10000000000019"
SITE = "GENBA-A-0001"
#: 2026-12-01 12:00 in Japan: November is over
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def build(app: FastAPI) -> dict[str, tuple[str, str]]:
    """The world; the client id and secret of the employer's system and of a third party's system."""
    with Session(app.state.idp.engine, expire_on_commit=False) as s:
        world = world_of(app, s).technician(TECHNICIAN, "鈴木 一郎")
        names = {PRIME: "株式会社 東京ゼネコン", EMPLOYER: "株式会社 山田工務店", THIRD: "株式会社 他社"}
        for eid, name in names.items():
            world.employer(eid, name)
        system = {"grant_types": ["client_credentials"]}
        (
            world.affiliation(TECHNICIAN, EMPLOYER, date(2020, 4, 1))
            .site(SITE, "新築工事", prime=PRIME, starts_on=date(2026, 10, 1))
            .tier(SITE, EMPLOYER, parent=PRIME)
            .assignment(SITE, TECHNICIAN, employer=EMPLOYER, start=date(2026, 10, 1), role="職長")
            .client("kentai-own", ["https://own.example/cb"], owner_employer=EMPLOYER, **system)
            .client("kentai-third", ["https://third.example/cb"], owner_employer=THIRD, **system)
        )
        s.commit()
        return {name: (made.client.client_id, str(made.client_secret)) for name, made in world.clients.items()}


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=JAPAN)


def hand(app: FastAPI, key: str, direction: str, when: datetime, source: str) -> bool:
    """One entry (``in``) or exit (``out``) through the gate's port, as the gate hands it over."""
    return bool(app.state.gate.directory.record(Entry(key, SITE, TECHNICIAN, direction, when, source)))


def november(app: FastAPI) -> None:
    """24th online 08:00–18:00 (1 h over 8 h), 25th offline 08:00–17:00, 26th an entry and no exit."""
    for day, source, (start, end) in (
        (date(2026, 11, 24), "online", (8, 18)),
        (date(2026, 11, 25), "offline", (8, 17)),
    ):
        assert hand(app, f"{day}-in", "in", at(day, start), source)
        assert hand(app, f"{day}-out", "out", at(day, end), source)
    assert hand(app, "2026-11-26-in", "in", at(date(2026, 11, 26), 8), "online")
