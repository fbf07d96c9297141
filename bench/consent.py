"""Consent decisions: in-process latency of ten-group decisions, and data API throughput.

(a) In-process. A freshly migrated database (SQLite, or ``--database-url``) is seeded with bulk
inserts: employers, a site with three tiers (施工体制) and an orderer, a second site, thousands of
technicians with affiliations, assignments and record details, and consent requests in every state.
``ConsentService.decide(principal, technician_id, ten_groups, now=...)`` is timed call by call for
four kinds of principal (a prime contractor's system, a third party's system, the current employer,
the orderer); then ``PolicyEngine.evaluate`` (Cedar) alone on the very inputs those decisions gave it,
and beside it a plain-Python version of the same rules (dict/set logic) — its answers are checked to
equal Cedar's on every input — and ``decide`` again with the plain-Python rules in place of Cedar.

(b) Data API. A real server (``uvicorn --factory app.asgi:create``, one worker) on the same database;
a ``client_credentials`` token of the prime contractor's system; concurrent httpx clients call
``GET /api/v1/technicians/{id}?groups=...`` for technicians assigned to its site. Each answer must be
200 with the roster groups; every call records a disclosure, so the hash chain is verified afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import math
import random
import re
import secrets
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine, event, insert
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app.database import make_engine, upgrade
from bench import machine_info, timestamp
from bench.server import LiveServer, genba_env, running_server
from bench.signin import argon2_params, percentile
from consent import records
from consent.groups import ALL_GROUPS, FieldGroup
from consent.models import ConsentRequest
from consent.policy import Evaluation, PolicyEngine
from consent.ports import Decision, Party, Relationship
from consent.service import ConsentService
from idp.models import Account, AccountKind, Affiliation, Employer, Technician
from idp.oauth.clients import create_client
from idp.passwords import Passwords
from idp.runtime import SystemRandomness, token_urlsafe
from register.directory import RegisterDirectory
from register.models import Orderer, Site, SiteAssignment, SiteCompany, TechnicianRecord

DESCRIPTION = "consent decisions: decide()/Cedar p50/p99 in-process vs plain Python; data API requests/s"
GOAL_P99_MS = 1.0
#: A ten-group request: every group but past employers, which nobody but the technician may see.
TEN_GROUPS: tuple[str, ...] = tuple(g for g in ALL_GROUPS if g != FieldGroup.past_affiliations)
#: The groups of the site rule (作業員名簿 and work history), as in policies/disclosure.cedar.
ROSTER = frozenset(
    {
        "identity",
        "birth_date",
        "face_photo",
        "current_affiliation",
        "social_insurance",
        "qualifications",
        "level_occupation",
        "work_history",
    }
)
THIRD_PARTY_GROUPS = ("qualifications", "social_insurance")  # what the third party's system asks for
PRIME_CONSENT_GROUPS = ("contact", "education_training")  # beyond the roster, with consent
#: the reason a decision must give for the third party's groups, by the kind of its request
EXPECTED_REASON = {
    "awaiting_employer": "awaiting_employer",
    "awaiting_technician": "awaiting_technician",
    "revoked": "revoked",
    "expired": "expired",
    "employer_changed": "employer_changed",
}
REQUEST_TIMEOUT = 30.0
SCENARIOS = ("prime contractor's system", "third party's system", "current employer", "orderer")
console = Console(stderr=True, highlight=False)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--technicians", type=int, default=5000, help="technicians to seed (default 5000)")
    parser.add_argument("--employers", type=int, default=60, help="employers to seed, at least 24 (default 60)")
    parser.add_argument("--calls", type=int, default=5000, help="timed decide() calls (default 5000)")
    parser.add_argument("--warmup-calls", type=int, default=300, help="untimed calls first (default 300)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent data API clients (default 8)")
    parser.add_argument("--duration", type=float, default=10.0, help="measured data API seconds (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="data API seconds before measuring (default 2)")
    parser.add_argument("--seed", type=int, default=20240401, help="random seed of the data and the call order")
    parser.add_argument("--no-api", action="store_true", help="skip (b), the data API throughput")
    parser.add_argument(
        "--database-url",
        help="a throw-away database, e.g. postgresql+psycopg://…/bench (default: SQLite in a temporary directory)",
    )


# -- the plain-Python peer of policies/disclosure.cedar ----------------------------------------------------------

ORDERER_GROUPS = frozenset({"identity", "current_affiliation", "level_occupation", "work_history"})


class PythonRules:
    """The rules of ``policies/disclosure.cedar`` as dict/set logic, with the same rule ids and the
    same answer shape as :meth:`consent.policy.PolicyEngine.evaluate` (a forbid wins over permits)."""

    def evaluate(
        self, principal: Party, relationship: Relationship, groups: tuple[str, ...], consented: frozenset[str]
    ) -> Evaluation:
        upper, orderer = bool(relationship.upper_tier_sites), bool(relationship.orderer_sites)
        allowed: set[str] = set()
        forbidden: set[str] = set()
        rules: dict[str, tuple[str, ...]] = {}
        for group in groups:
            if group == "past_affiliations" and not relationship.is_self:
                rules[group] = ("past-employers-only-to-technician",)
                forbidden.add(group)
                continue
            permits = []
            if relationship.is_self:
                permits.append("technician-sees-own-record")
            if relationship.current_employer:
                permits.append("current-employer-sees-its-technicians")
            if upper and group in ROSTER:
                permits.append("site-upper-tiers-see-roster")
            if orderer and group in ORDERER_GROUPS:
                permits.append("orderer-sees-own-project-roster-and-attendance")
            if group in consented:
                permits.append("two-party-consent")
            rules[group] = tuple(sorted(permits))
            if permits:
                allowed.add(group)
        return Evaluation(frozenset(allowed), rules, frozenset(forbidden))


class RecordingPolicy:
    """Passes every call to Cedar and keeps its arguments: the real inputs of the decisions."""

    def __init__(self, engine: PolicyEngine) -> None:
        self.engine = engine
        self.inputs: list[tuple[Party, Relationship, tuple[str, ...], frozenset[str]]] = []

    def evaluate(
        self, principal: Party, relationship: Relationship, groups: tuple[str, ...], consented: frozenset[str]
    ) -> Evaluation:
        self.inputs.append((principal, relationship, groups, consented))
        return self.engine.evaluate(principal, relationship, groups, consented)


# -- seeding -----------------------------------------------------------------------------------------------------


@dataclass
class World:
    today: date
    prime: str  # 事業者ID of site A's prime contractor, which owns the benchmark's system
    third_party: str  # 事業者ID of a company on no site, which owns another system
    orderer: str
    prime_client_id: str
    prime_client_secret: str
    third_party_client_id: str
    employer_of: dict[str, str]  # 技能者ID -> current 事業者ID
    on_site_a: list[str]  # technicians assigned to site A today
    #: the kind of the third party's request about each technician (active, revoked, expired, ...)
    third_party_request: dict[str, str] = field(default_factory=dict)
    #: technicians who gave the prime's system their contact and training
    prime_consented: set[str] = field(default_factory=set)
    consent_requests: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def _ids(rng: random.Random, n: int) -> list[str]:
    """``n`` distinct random 14-digit ids (a reused PostgreSQL database gets no clash)."""
    first = 9 * 10**13 + rng.randrange(9 * 10**12)
    return [f"{first + i:014d}" for i in range(n)]


def _insert(conn: Any, model: Any, rows: list[dict[str, Any]], key: str) -> dict[Any, int]:
    """Bulk insert; returns ``{row[key]: primary key}``."""
    if not rows:
        return {}
    table = model.__table__
    result = conn.execute(insert(table).returning(table.c.id, table.c[key]), rows)
    return {value: pk for pk, value in result}


def seed(url: str, args: argparse.Namespace, rng: random.Random) -> World:
    """Everything with SQLAlchemy core bulk inserts; one argon2 hash shared by all accounts."""
    if args.employers < 24:
        raise ValueError("--employers must be at least 24 (three tiers on site A, a second site)")
    now = datetime.now(UTC)
    today = now.date()
    system_rng = SystemRandomness()
    password_hash = Passwords(**argon2_params()).hash(secrets.token_urlsafe(18))  # never used to sign in
    employer_ids = _ids(rng, args.employers)
    technician_ids = _ids(rng, args.technicians)
    tag = secrets.token_hex(4)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            employer_pk = _insert(
                conn,
                Employer,
                [
                    {
                        "employer_id": eid,
                        "trade_name": f"試験建設{i:03d} 株式会社",
                        "address": "東京都江東区東陽1-2-3",
                        "phone": "03-0000-0000",
                        "sole_proprietor": False,
                        "contact_substitution": i % 7 == 0,
                        "created_at": now,
                    }
                    for i, eid in enumerate(employer_ids)
                ],
                "employer_id",
            )
            prime, third_party = employer_ids[0], employer_ids[1]
            tier1, tier2 = employer_ids[2:6], employer_ids[6:18]  # site A: prime, 4 tier-1, 12 tier-2
            prime_b, tier1_b = employer_ids[18], employer_ids[19:24]  # site B: another prime, 5 tier-1
            orderer_code = f"bench-orderer-{tag}"
            orderer_pk = _insert(
                conn, Orderer, [{"orderer_code": orderer_code, "name": "試験発注者", "created_at": now}], "orderer_code"
            )[orderer_code]
            site_rows = [
                {
                    "site_id": f"bench-site-{name}-{tag}",
                    "name": f"試験現場{name}",
                    "address": "東京都江東区",
                    "prime_employer_pk": employer_pk[p],
                    "orderer_pk": orderer_pk if name == "A" else None,
                    "starts_on": today - timedelta(days=200),
                    "ends_on": today + timedelta(days=400),
                    "closed_at": None,
                    "created_at": now,
                }
                for name, p in (("A", prime), ("B", prime_b))
            ]
            site_pk = _insert(conn, Site, site_rows, "site_id")
            site_a, site_b = (site_pk[row["site_id"]] for row in site_rows)
            tiers: list[dict[str, Any]] = [
                {"site_pk": site_a, "employer_pk": employer_pk[prime], "tier": 0, "parent_employer_pk": None},
                {"site_pk": site_b, "employer_pk": employer_pk[prime_b], "tier": 0, "parent_employer_pk": None},
            ]
            tiers += [
                {"site_pk": site_a, "employer_pk": employer_pk[e], "tier": 1, "parent_employer_pk": employer_pk[prime]}
                for e in tier1
            ]
            tiers += [
                {
                    "site_pk": site_a,
                    "employer_pk": employer_pk[e],
                    "tier": 2,
                    "parent_employer_pk": employer_pk[tier1[i % len(tier1)]],
                }
                for i, e in enumerate(tier2)
            ]
            tiers += [
                {
                    "site_pk": site_b,
                    "employer_pk": employer_pk[e],
                    "tier": 1,
                    "parent_employer_pk": employer_pk[prime_b],
                }
                for e in tier1_b
            ]
            conn.execute(insert(SiteCompany), [row | {"registered_by_employer_pk": None} for row in tiers])

            account_rows = [
                {
                    "kind": AccountKind.technician.value,
                    "username": tid,
                    "email": None,
                    "display_name": "試験 太郎",
                    "password_hash": password_hash,
                    "password_changed_at": now,
                    "totp_secret_enc": None,
                    "totp_last_step": None,
                    "webauthn_user_handle": system_rng.token_bytes(32),
                    "subject": token_urlsafe(system_rng, 16),
                    "disabled": False,
                    "created_at": now,
                }
                for tid in technician_ids
            ]
            account_pk = _insert(conn, Account, account_rows, "username")
            technician_pk = _insert(
                conn,
                Technician,
                [
                    {
                        "technician_id": tid,
                        "account_id": account_pk[tid],
                        "name": f"試験 太郎{i}",
                        "name_kana": "シケン タロウ",
                        "birth_date": date(1970 + i % 35, 1 + i % 12, 1 + i % 28),
                        "gender": ("male", "female", "unspecified")[i % 3],
                        "address": "東京都千代田区1-1",
                        "phone": "090-0000-0000",
                        "face_photo": None,
                        "face_photo_type": None,
                        "created_at": now,
                    }
                    for i, tid in enumerate(technician_ids)
                ],
                "technician_id",
            )
            # Affiliations: everyone works for one employer (not the third party); a fifth changed employer.
            workers = [e for e in employer_ids if e != third_party]
            employer_of = {tid: rng.choice(workers) for tid in technician_ids}
            affiliations = []
            for tid, eid in employer_of.items():
                start = today - timedelta(days=rng.randrange(30, 3000))
                if rng.random() < 0.2:
                    before = rng.choice(workers)
                    if before != eid:
                        affiliations.append(
                            _affiliation(technician_pk[tid], employer_pk[before], start - timedelta(days=900), now)
                            | {"end_date": start - timedelta(days=1)}
                        )
                affiliations.append(_affiliation(technician_pk[tid], employer_pk[eid], start, now))
            conn.execute(insert(Affiliation), affiliations)
            # Assignments: technicians of site A's companies work there (some also had a past stint on B).
            on_a_companies, on_b_companies = {prime, *tier1, *tier2}, {prime_b, *tier1_b}
            assignments, on_site_a = [], []
            for tid, eid in employer_of.items():
                if eid in on_a_companies:
                    on_site_a.append(tid)
                    assignments.append(_assignment(site_a, technician_pk[tid], employer_pk[eid], today, None))
                    if rng.random() < 0.3:
                        assignments.append(
                            _assignment(site_b, technician_pk[tid], employer_pk[prime_b], today, timedelta(days=60))
                        )
                elif eid in on_b_companies:
                    assignments.append(_assignment(site_b, technician_pk[tid], employer_pk[eid], today, None))
            conn.execute(insert(SiteAssignment), assignments)
            conn.execute(
                insert(TechnicianRecord),
                [
                    {
                        "technician_pk": technician_pk[tid],
                        "level": 1 + i % 4,
                        "occupations": [("とび", "鉄筋", "型枠", "電気")[i % 4]],
                        "health_insurance": "enrolled",
                        "pension_insurance": "enrolled",
                        "employment_insurance": ("enrolled", "exempt")[i % 2],
                        "kentaikyo": i % 3 == 0,
                        "qualifications": [{"name": "玉掛け技能講習"}, {"name": "足場の組立て等作業主任者"}][
                            : 1 + i % 2
                        ],
                        "education": [],
                        "training": [{"name": "職長・安全衛生責任者教育"}],
                        "awards": [],
                        "updated_at": now,
                    }
                    for i, tid in enumerate(technician_ids)
                ],
            )
        with Session(engine) as session:
            clients = {}
            for key, owner, name in (
                ("prime", prime, "元請の入退場管理システム"),
                ("third", third_party, "勤怠管理システム"),
            ):
                new = create_client(
                    session=session,
                    client_name=f"{name} {tag}",
                    redirect_uris=[],
                    grant_types=["client_credentials"],
                    rng=system_rng,
                    now=now,
                )
                new.client.owner_employer_pk = employer_pk[owner]
                session.add(new.client)
                clients[key] = (new.client.client_id, new.client_secret or "")
            session.commit()
        prime_client, third_client = clients["prime"][0], clients["third"][0]
        consent_rows, consent_kinds, third_party_request, prime_consented = _consent_rows(
            rng, today, now, employer_of, on_site_a, prime_client, prime, third_client, third_party, workers
        )
        with engine.begin() as conn:
            conn.execute(insert(ConsentRequest), consent_rows)
    finally:
        engine.dispose()
    states: dict[str, int] = {}
    for kind in consent_kinds:
        states[kind] = states.get(kind, 0) + 1
    return World(
        today=today,
        prime=prime,
        third_party=third_party,
        orderer=orderer_code,
        prime_client_id=prime_client,
        prime_client_secret=clients["prime"][1],
        third_party_client_id=third_client,
        employer_of=employer_of,
        on_site_a=on_site_a,
        third_party_request=third_party_request,
        prime_consented=prime_consented,
        consent_requests=len(consent_rows),
        counts={
            "employers": args.employers,
            "technicians": args.technicians,
            "affiliations": len(affiliations),
            "site_companies": len(tiers),
            "assignments": len(assignments),
            "technicians_on_site_a": len(on_site_a),
            "consent_requests": len(consent_rows),
        }
        | {f"consent_requests_{k}": v for k, v in sorted(states.items())},
    )


def _affiliation(technician: int, employer: int, start: date, now: datetime) -> dict[str, Any]:
    return {"technician_pk": technician, "employer_pk": employer, "start_date": start, "end_date": None} | {
        "created_at": now
    }


def _assignment(site: int, technician: int, employer: int, today: date, ended_ago: timedelta | None) -> dict[str, Any]:
    start = today - timedelta(days=150)
    end = today - ended_ago if ended_ago is not None else None
    return {"site_pk": site, "technician_pk": technician, "employer_pk": employer, "role": ""} | {
        "start_date": start,
        "end_date": end,
        "registered_by_employer_pk": None,
    }


def _consent_rows(
    rng: random.Random,
    today: date,
    now: datetime,
    employer_of: dict[str, str],
    on_site_a: list[str],
    prime_client: str,
    prime: str,
    third_client: str,
    third_party: str,
    workers: list[str],
) -> tuple[list[dict[str, Any]], list[str], dict[str, str], set[str]]:
    """Per technician: the third party's system asks for qualifications and more (in every state);
    a third of site A's technicians also gave the prime's system their contact and training; one in
    five technicians has a request from another company for the work history."""
    rows: list[dict[str, Any]] = []
    kinds: list[str] = []
    third_party_request: dict[str, str] = {}
    prime_consented: set[str] = set()
    on_a = set(on_site_a)
    #: how often each kind of request occurs (weights): mostly active, some in every other state
    states = {"active": 50, "awaiting_employer": 20, "awaiting_technician": 10, "revoked": 10, "expired": 5}
    states["employer_changed"] = 5  # approved by the former employer: the new one must approve again
    names, weights = list(states), list(states.values())

    def add(tid: str, kind: str, requester: tuple[str, str, str | None, str | None], groups: list[str]) -> None:
        employer = employer_of[tid]
        start, end = today - timedelta(days=rng.randrange(1, 300)), today + timedelta(days=rng.randrange(30, 365))
        tech: str | None = "approved"
        emp: str | None = "approved"
        state, revoked_by = "active", None
        if kind == "awaiting_employer":
            emp, state = None, "awaiting"
        elif kind == "awaiting_technician":
            tech, state = None, "awaiting"
        elif kind == "revoked":
            state, revoked_by = "revoked", rng.choice(("technician", "employer"))
        elif kind == "expired":
            end = today - timedelta(days=rng.randrange(1, 60))
        elif kind == "employer_changed":
            employer = rng.choice([e for e in workers if e != employer_of[tid]])
        decided = now - timedelta(days=1)
        rows.append(
            {
                "id": secrets.token_urlsafe(16),
                "batch_id": secrets.token_urlsafe(16),
                "requester_kind": requester[0],
                "requester_id": requester[1],
                "requester_org_kind": requester[2],
                "requester_org_id": requester[3],
                "technician_id": tid,
                "employer_id": employer,
                "groups": groups,
                "purpose": "入退場管理のための資格確認",
                "period_start": start,
                "period_end": end,
                "state": state,
                "technician_decision": tech,
                "technician_decided_at": decided if tech else None,
                "employer_decision": emp,
                "employer_decided_at": decided if emp else None,
                "revoked_by": revoked_by,
                "supersedes": None,
                "created_at": now - timedelta(days=2),
                "updated_at": decided,
            }
        )
        kinds.append(kind)

    for tid in employer_of:
        kind = rng.choices(names, weights)[0]
        add(tid, kind, ("client", third_client, "company", third_party), list(THIRD_PARTY_GROUPS))
        third_party_request[tid] = kind
        if tid in on_a and rng.random() < 1 / 3:
            add(tid, "active", ("client", prime_client, "company", prime), list(PRIME_CONSENT_GROUPS))
            prime_consented.add(tid)
        if rng.random() < 0.2:
            other = rng.choice(workers)
            add(tid, rng.choices(names, weights)[0], ("company", other, None, None), ["work_history", "identity"])
    return rows, kinds, third_party_request, prime_consented


# -- (a) in-process decisions ------------------------------------------------------------------------------------


def _calls(world: World, count: int, rng: random.Random) -> list[tuple[str, Party, str]]:
    """(scenario, principal, technician) in a fixed order, the four scenarios in turn."""
    prime_system = Party("client", world.prime_client_id, acting_for=Party("company", world.prime))
    third_system = Party("client", world.third_party_client_id, acting_for=Party("company", world.third_party))
    everyone = list(world.employer_of)
    out = []
    for i in range(count):
        scenario = SCENARIOS[i % len(SCENARIOS)]
        if scenario == SCENARIOS[0]:
            out.append((scenario, prime_system, rng.choice(world.on_site_a)))
        elif scenario == SCENARIOS[1]:
            out.append((scenario, third_system, rng.choice(everyone)))
        elif scenario == SCENARIOS[2]:
            tid = rng.choice(everyone)
            out.append((scenario, Party("company", world.employer_of[tid], role="admin"), tid))
        else:
            out.append((scenario, Party("orderer", world.orderer), rng.choice(world.on_site_a)))
    return out


def _each(items: Iterable[Any], fn: Callable[[Any], object]) -> list[float]:
    samples = []
    gc.collect()
    gc.disable()
    try:
        for item in items:
            t0 = time.perf_counter_ns()
            fn(item)
            samples.append((time.perf_counter_ns() - t0) / 1e9)
    finally:
        gc.enable()
    return samples


def _each_cpu(items: Iterable[Any], fn: Callable[[Any], object]) -> list[float]:
    """Like ``_each``, but the CPU time of the calling thread: what a call costs this process,
    whatever else the machine runs (the database server's CPU is not in it)."""
    samples = []
    gc.collect()
    gc.disable()
    try:
        for item in items:
            t0 = time.thread_time_ns()
            fn(item)
            samples.append((time.thread_time_ns() - t0) / 1e9)
    finally:
        gc.enable()
    return samples


class StatementCounter:
    """SQL statements sent through ``engine`` while active (SQLAlchemy's ``before_cursor_execute``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.count = engine, 0

    def _seen(self, *_: Any) -> None:
        self.count += 1

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "calls": len(ordered),
        "mean_ms": statistics.fmean(ordered) * 1000 if ordered else math.nan,
        "p50_ms": percentile(ordered, 50) * 1000,
        "p99_ms": percentile(ordered, 99) * 1000,
        "max_ms": ordered[-1] * 1000 if ordered else math.nan,
    }


def unexpected(world: World, scenario: str, tid: str, decision: Decision) -> str | None:
    """What is wrong with a decision, given how the data was seeded (``None``: as expected).

    The benchmark times only decisions that are right: every principal's allowed groups and, for the
    third party's system, the reason given for each withheld group it asked for."""
    ten = set(TEN_GROUPS)
    expected: set[str]
    if scenario == SCENARIOS[2] or (scenario == SCENARIOS[0] and world.employer_of[tid] == world.prime):
        expected = ten  # the current employer, or a system acting for it, sees its technicians
    elif scenario == SCENARIOS[0]:
        expected = (set(ROSTER) | (set(PRIME_CONSENT_GROUPS) if tid in world.prime_consented else set())) & ten
    elif scenario == SCENARIOS[1]:
        kind = world.third_party_request[tid]
        expected = set(THIRD_PARTY_GROUPS) if kind == "active" else set()
        if kind != "active":
            reasons = {g: decision.missing[g].code for g in THIRD_PARTY_GROUPS if g in decision.missing}
            if reasons != dict.fromkeys(THIRD_PARTY_GROUPS, EXPECTED_REASON[kind]):
                return f"request {kind}: withheld with {reasons}, expected {EXPECTED_REASON[kind]}"
    else:
        expected = set(ORDERER_GROUPS)
    if set(decision.allowed) != expected:
        return f"allowed {sorted(decision.allowed)}, expected {sorted(expected)}"
    return None


def measure_decisions(url: str, world: World, args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        return _measure_decisions(engine, world, args, rng)
    finally:
        engine.dispose()


def _measure_decisions(engine: Engine, world: World, args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    directory, cedar, python_rules = RegisterDirectory(engine), PolicyEngine(), PythonRules()
    service = ConsentService(engine, directory, cedar)
    now = datetime.now(UTC)
    warm = _calls(world, args.warmup_calls, rng)
    calls = _calls(world, args.calls, rng)
    for _, principal, tid in warm:
        service.decide(principal, tid, TEN_GROUPS, now=now)

    console.print(f"decide(): {len(calls)} ten-group calls …")
    decide_samples = _each(calls, lambda c: service.decide(c[1], c[2], TEN_GROUPS, now=now))
    # The same calls again: this thread's CPU time per call, and the SQL statements they send.
    with StatementCounter(engine) as statements:
        decide_cpu_samples = _each_cpu(calls, lambda c: service.decide(c[1], c[2], TEN_GROUPS, now=now))
    by_scenario: dict[str, list[float]] = {s: [] for s in SCENARIOS}
    for (scenario, _, _), sample in zip(calls, decide_samples, strict=True):
        by_scenario[scenario].append(sample)

    # The inputs Cedar got from those very decisions (a separate, untimed pass).
    recorder = RecordingPolicy(cedar)
    recording = ConsentService(engine, directory, recorder)  # type: ignore[arg-type]  # duck-typed policy
    outcomes: dict[str, dict[str, int]] = {
        s: {"calls": 0, "groups_allowed": 0, "with_any_allowed": 0} for s in SCENARIOS
    }
    wrong: list[str] = []
    for scenario, principal, tid in calls:
        decision = recording.decide(principal, tid, TEN_GROUPS, now=now)
        outcome = outcomes[scenario]
        outcome["calls"] += 1
        outcome["groups_allowed"] += len(decision.allowed)
        outcome["with_any_allowed"] += bool(decision.allowed)
        problem = unexpected(world, scenario, tid, decision)
        if problem:
            wrong.append(f"{scenario}, technician {tid}: {problem}")
    inputs = recorder.inputs

    mismatches = []
    for principal, relationship, groups, consented in inputs:
        expected = cedar.evaluate(principal, relationship, groups, consented)
        got = python_rules.evaluate(principal, relationship, groups, consented)
        if got != expected:
            mismatches.append(f"{principal.label()} {relationship}: cedar {expected} python {got}")

    console.print(f"PolicyEngine.evaluate (Cedar) and the plain-Python rules on {len(inputs)} recorded inputs …")
    for item in inputs[: args.warmup_calls]:
        cedar._evaluate(*item)
        python_rules.evaluate(*item)
    # Cedar itself, bypassing the engine's answer cache (what a cold request costs) …
    cedar_samples = _each(inputs, lambda item: cedar._evaluate(*item))
    # … and through the cache, as decide() calls it (every input has been seen once above).
    cached_samples = _each(inputs, lambda item: cedar.evaluate(*item))
    python_samples = _each(inputs, lambda item: python_rules.evaluate(*item))

    console.print("decide() with the plain-Python rules in place of Cedar …")
    plain = ConsentService(engine, directory, python_rules)  # type: ignore[arg-type]  # duck-typed policy
    for _, principal, tid in warm:
        plain.decide(principal, tid, TEN_GROUPS, now=now)
    plain_samples = _each(calls, lambda c: plain.decide(c[1], c[2], TEN_GROUPS, now=now))

    decide, cedar_stats = _stats(decide_samples), _stats(cedar_samples)
    python_stats, plain_stats = _stats(python_samples), _stats(plain_samples)
    return {
        "groups": list(TEN_GROUPS),
        "decide": decide,
        "decide_cpu": _stats(decide_cpu_samples),
        "statements_per_decision": statements.count / max(1, len(calls)),
        "decide_by_scenario": {
            s: _stats(v)
            | {
                "groups_allowed_per_call": outcomes[s]["groups_allowed"] / max(1, outcomes[s]["calls"]),
                "share_with_any_allowed": outcomes[s]["with_any_allowed"] / max(1, outcomes[s]["calls"]),
            }
            for s, v in by_scenario.items()
        },
        "cedar_evaluate": cedar_stats,
        "cedar_evaluate_cached": _stats(cached_samples),
        "python_rules_evaluate": python_stats,
        "decide_with_python_rules": plain_stats,
        "cedar_to_python_ratio_p50": cedar_stats["p50_ms"] / python_stats["p50_ms"],
        "cedar_to_python_ratio_p99": cedar_stats["p99_ms"] / python_stats["p99_ms"],
        "cedar_share_of_decide_p50": (decide["p50_ms"] - plain_stats["p50_ms"]) / decide["p50_ms"],
        "goal_p99_ms": GOAL_P99_MS,
        "goal_met_cedar_evaluate": cedar_stats["p99_ms"] < GOAL_P99_MS,
        "goal_met_decide": decide["p99_ms"] < GOAL_P99_MS,
        "parity_inputs_checked": len(inputs),
        "parity_mismatches": len(mismatches),
        "decisions_checked": len(calls),
        "decisions_unexpected": len(wrong),
        "_errors": [f"python rules differ from Cedar: {m}" for m in mismatches[:10]]
        + [f"unexpected decision: {m}" for m in wrong[:10]],
    }


# -- (b) data API throughput -------------------------------------------------------------------------------------


def _client_token(server: LiveServer, world: World) -> str:
    response = httpx.post(
        server.base_url + "/token",
        data={"grant_type": "client_credentials"},
        auth=(world.prime_client_id, world.prime_client_secret),
        timeout=REQUEST_TIMEOUT,
    )
    if response.status_code != 200:
        raise RuntimeError(f"client_credentials token: {response.status_code} {response.text[:300]}")
    token: str = response.json()["access_token"]
    return token


async def _drive_api(server: LiveServer, token: str, targets: list[str], args: argparse.Namespace) -> dict[str, Any]:
    stop = asyncio.Event()
    done: list[tuple[float, float]] = []  # (end, latency) of 200 answers
    failures: list[str] = []
    kinds: Counter[str] = Counter()
    query = {"groups": ",".join(TEN_GROUPS)}
    headers = {"Authorization": f"Bearer {token}"}
    cursor = itertools.count()

    def failed(kind: str, message: str) -> None:
        kinds[kind] += 1
        failures.append(message)

    async def client() -> None:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=REQUEST_TIMEOUT, headers=headers) as http:
            while not stop.is_set():
                tid = targets[next(cursor) % len(targets)]
                started = time.perf_counter()
                try:
                    response = await http.get(f"/api/v1/technicians/{tid}", params=query)
                except httpx.HTTPError as exc:
                    failed(type(exc).__name__, f"{tid}: {exc!r}")
                    continue
                ended = time.perf_counter()
                if response.status_code != 200:
                    failed(f"HTTP {response.status_code}", f"{tid}: {response.status_code} {response.text[:200]}")
                    continue
                body = response.json()
                if not set(body["allowed_groups"]) >= ROSTER or "past_employers" in body["technician"]:
                    failed("unexpected groups", f"{tid}: unexpected groups {body['allowed_groups']}")
                    continue
                done.append((ended, ended - started))

    async def pause(seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)

    tasks = [asyncio.create_task(client()) for _ in range(args.clients)]
    await pause(args.warmup)
    t0, cpu0 = time.perf_counter(), server.cpu_seconds()
    await pause(args.duration)
    t1, cpu1 = time.perf_counter(), server.cpu_seconds()
    stop.set()
    await asyncio.gather(*tasks)
    latencies = sorted(lat for end, lat in done if t0 <= end <= t1)
    window, cpu = t1 - t0, cpu1 - cpu0
    return {
        "clients": args.clients,
        "window_seconds": window,
        "requests": len(latencies),
        "requests_per_second": len(latencies) / window,
        "server_cpu_seconds": cpu,
        "requests_per_server_cpu_second": len(latencies) / cpu if cpu > 0 else math.nan,
        "latency_ms": {
            "p50": percentile(latencies, 50) * 1000,
            "p99": percentile(latencies, 99) * 1000,
            "max": latencies[-1] * 1000 if latencies else math.nan,
        },
        "answers_200_including_warmup": len(done),
        "failures": len(failures),
        "failures_by_kind": dict(kinds.most_common()),
        "_errors": failures[:20],
    }


#: The last line of a Python traceback in the server log, e.g. ``sqlite3.IntegrityError: UNIQUE ...``.
EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception)(?::.*)?$")


def server_exceptions(log_path: Path) -> dict[str, int]:
    """How often each exception ended a traceback in the server log; of a chain (``The above exception
    was the direct cause ...``) only the last one counts."""
    try:
        lines = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return {}
    counts: Counter[str] = Counter()
    in_traceback = False
    for i, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last):"):
            in_traceback = True
        elif in_traceback and EXCEPTION_LINE.match(line):
            in_traceback = False
            following = lines[i + 1] if i + 1 < len(lines) else ""
            if not following.startswith(("The above exception", "During handling of the above exception")):
                counts[line[:300]] += 1
    return dict(counts.most_common(10))


def measure_api(url: str, world: World, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    env = genba_env(
        {
            "GENBA_ENVIRONMENT": "test",
            "GENBA_DATABASE_URL": url,
            "GENBA_SECRET_KEY": secrets.token_urlsafe(36),
            "GENBA_SECRET_FILE": str(workdir / "secret.key"),
        }
    )
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            _, before, _ = records.verify(session)
    finally:
        engine.dispose()
    with running_server(env, workdir) as server:
        token = _client_token(server, world)
        console.print(
            f"data API: {args.clients} clients, {args.warmup:g} s warm-up + {args.duration:g} s measured, "
            f"GET /api/v1/technicians/{{id}} over {len(world.on_site_a)} technicians of site A …"
        )
        result = asyncio.run(_drive_api(server, token, world.on_site_a, args))
        if server.process.poll() is not None:
            result["_errors"].append(f"server exited with {server.process.returncode}:\n{server.log_tail()}")
    result["server_exceptions"] = server_exceptions(server.log_path)
    for line, count in result["server_exceptions"].items():
        result["_errors"].insert(0, f"server log: {count} tracebacks ending in {line}")
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            ok, count, bad = records.verify(session)
    finally:
        engine.dispose()
    result["disclosure_records_written"] = count - before
    result["record_chain_ok"] = ok
    if not ok:
        result["_errors"].append(f"the consent record chain breaks at record {bad}")
    return result


# -- the benchmark -----------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="genba-bench-consent-") as tmp:
        workdir = Path(tmp)
        url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
        upgrade(url)
        console.print(f"seeding {args.technicians} technicians, {args.employers} employers, two sites …")
        t0 = time.perf_counter()
        world = seed(url, args, rng)
        seed_seconds = time.perf_counter() - t0
        decisions = measure_decisions(url, world, args, rng)
        errors += decisions.pop("_errors")
        api: dict[str, Any] | None = None
        if not args.no_api:
            api = measure_api(url, world, args, workdir)
            errors += api.pop("_errors")
            if not api["requests"]:
                errors.append("no data API request completed in the measured window")
    database = make_url(url).render_as_string(hide_password=True) if args.database_url else "sqlite (temporary)"
    config = {
        name: getattr(args, name)
        for name in ("technicians", "employers", "calls", "warmup_calls", "clients", "duration", "warmup", "seed")
    }
    config |= {"database": database, "server": "uvicorn --factory app.asgi:create --workers 1", "api": not args.no_api}
    results = {"seed_seconds": seed_seconds, "data": world.counts, "in_process": decisions, "data_api": api}
    report(decisions, api, world, errors)
    return {
        "benchmark": "consent",
        "timestamp": timestamp(),
        "ok": not errors,
        "machine": machine_info(),
        "config": config,
        "results": results,
        "errors": errors[:20],
    }


def report(d: dict[str, Any], api: dict[str, Any] | None, world: World, errors: list[str]) -> None:
    def ms(s: dict[str, Any]) -> str:
        return f"{s['p50_ms']:.3f} / {s['p99_ms']:.3f} ms"

    def goal(met: bool) -> str:
        return "[green]met[/]" if met else "[red]not met[/]"

    table = Table(
        title=f"Consent decisions, ten groups — {world.counts['technicians']} technicians, "
        f"{world.consent_requests} consent requests"
    )
    table.add_column("measure")
    table.add_column("p50 / p99", justify="right")
    table.add_column("note")
    table.add_row(
        "ConsentService.decide (Cedar)",
        ms(d["decide"]),
        f"{d['decide']['calls']} calls; goal p99 < {GOAL_P99_MS:g} ms {goal(d['goal_met_decide'])}",
    )
    table.add_row(
        "  CPU time of the calling thread",
        ms(d["decide_cpu"]),
        f"the same calls, preemption excluded; {d['statements_per_decision']:.2f} SQL statements per decision",
    )
    for scenario, s in d["decide_by_scenario"].items():
        table.add_row(f"  {scenario}", ms(s), f"{s['groups_allowed_per_call']:.1f} of 10 groups allowed on average")
    table.add_row(
        "Cedar alone (one batch, uncached)",
        ms(d["cedar_evaluate"]),
        f"goal p99 < {GOAL_P99_MS:g} ms {goal(d['goal_met_cedar_evaluate'])}",
    )
    table.add_row(
        "PolicyEngine.evaluate (answer cache hit)", ms(d["cedar_evaluate_cached"]), "identical request seen before"
    )
    table.add_row(
        "plain-Python rules (peer)",
        ms(d["python_rules_evaluate"]),
        f"Cedar ÷ Python: {d['cedar_to_python_ratio_p50']:.1f}× (p50), {d['cedar_to_python_ratio_p99']:.1f}× (p99)",
    )
    table.add_row(
        "decide with plain-Python rules",
        ms(d["decide_with_python_rules"]),
        f"Cedar is {d['cedar_share_of_decide_p50']:.0%} of decide (p50)",
    )
    table.add_row(
        "decisions as the data says",
        f"{d['decisions_checked'] - d['decisions_unexpected']} / {d['decisions_checked']}",
        "[green]all expected[/]" if not d["decisions_unexpected"] else f"[red]{d['decisions_unexpected']} wrong[/]",
    )
    parity = d["parity_mismatches"]
    table.add_row(
        "Python rules = Cedar",
        f"{d['parity_inputs_checked'] - parity} / {d['parity_inputs_checked']}",
        "[green]identical answers[/]" if not parity else f"[red]{parity} differ[/]",
    )
    Console().print(table)
    if api is not None:
        t = Table(title="Data API: GET /api/v1/technicians/{id}?groups=<ten> (prime contractor's system)")
        t.add_column("measure")
        t.add_column("value", justify="right")
        for name, value in [
            ("requests per second (wall clock)", f"{api['requests_per_second']:.1f} /s"),
            ("requests per server CPU-second", f"{api['requests_per_server_cpu_second']:.1f} /s"),
            ("latency p50 / p99", f"{api['latency_ms']['p50']:.1f} / {api['latency_ms']['p99']:.1f} ms"),
            ("requests / window", f"{api['requests']} / {api['window_seconds']:.1f} s, {api['clients']} clients"),
            (
                "disclosure records written, chain intact",
                f"{api['disclosure_records_written']}, {api['record_chain_ok']}",
            ),
            (
                "failed requests",
                f"[red]{api['failures']}[/] ({', '.join(f'{k}: {v}' for k, v in api['failures_by_kind'].items())})"
                if api["failures"]
                else "0",
            ),
        ]:
            t.add_row(name, value)
        Console().print(t)
    for error in errors[:5]:
        console.print(f"[red]error[/]: {escape(error)}")
