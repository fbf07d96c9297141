"""Gate checks: presentations verified per second per core and their p99 latency, status checks included;
and the size of the offline presentation QR code.

A temporary SQLite database is migrated and the real app is built on it (``app.factory.create_app``,
a fixed clock). A technician with a CCUS card and two 技能講習 certificates (玉掛け, 小型移動式クレーン)
receives them through the real OpenID4VCI flow (``tools.holder.receive`` over the ASGI client), and the
gate's sync bundle is made with ``wallet.gate.offline.bundle``. Then, one thread (one core):

- ``wallet.gate.check.check`` in-process with a ``Trust`` whose status lookup returns the prepared
  ``statuslist+jwt`` (each signed list is verified and inflated once, then its freshness judged and
  the entry read on every check, as at a gate between syncs — wallet.verifier caches verified lists);
- ``wallet.gate.offline_check.verify_offline`` on the QR frames (codec: base64url, inflate, JSON), same checks;
- ``first_sight_check``: ``check`` again, with the caches of issuer JWTs emptied before each call, as for a
  credential the gate has not seen before (a gate sees the same credentials day after day, so most
  checks are the cached kind; the issuer certificate and the status list stay cached, they change only
  with a sync);

for the general requirement (card only) and crane work (card + 2 certificates). Presentations are made
beforehand (a pool with distinct nonces, cycled). Each call is timed with ``perf_counter_ns``; the per-core
rate is calls ÷ CPU seconds of this process (``time.process_time``). Every result must be green.

Reference figures on the same machine: a raw ES256 verification (``cryptography``) and the inflate of one
status list (1,048,576 entries × 2 bits). Each credential shown involves 4 ES256 verifications: the issuer
certificate by the root, the issuer JWT, the KB-JWT and the status list token. The certificate and the
status list are the same for every check between two syncs, and a credential is the same every day, so
those three are verified once, by their exact bytes (issue 14: ``wallet.keys.verified_leaf``,
``wallet.verifier._verified_list``, ``wallet.verifier._verified_issuer_jwt``); what depends on the moment
is checked every time. A check of a credential seen before does 1 ES256 verification per credential
(its KB-JWT), one never seen 2: the physical limits are 1 ÷ (1 or 2 × t_ES256) per credential;
``physical_limit_uncached`` is 1 ÷ (4 × t_ES256), the limit with nothing cached.
"""

from __future__ import annotations

import argparse
import gc
import json
import secrets
import statistics
import tempfile
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import segno
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from app import database
from app.factory import create_app
from app.settings import Settings
from bench import machine_info, timestamp
from bench.signin import percentile
from connectors.models import Certificate
from tools.holder import HeldCredential, receive
from tools.world import World as Builder
from wallet import sdjwt
from wallet.gate import offline
from wallet.gate.check import Trust, check
from wallet.gate.codec import Challenge, decode_challenge, encode_challenge, encode_presentation
from wallet.gate.offline_check import verify_offline
from wallet.gate.requirements import revealed_claims
from wallet.offers import create_offer
from wallet.verifier import forget_issuer_jwts

DESCRIPTION = "gate checks: presentations verified /s/core and p99 (status checks included); offline QR size"
GOAL_PER_CORE = 2000.0
#: issue 14: crane work (card and two certificates) per core
GOAL_CRANE_PER_CORE = 700.0
QR_V40_L_BYTES = 2953
SITE, GATE, PRIME, SUB, TECHNICIAN, NAME = (
    "GENBA-B-0001",
    "north",
    "31000000000034",
    "31000000000018",
    "10000000000019",
    "鈴木 一郎",
)
console = Console(stderr=True, highlight=False, width=132)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per workload (default 3)")
    parser.add_argument("--warmup", type=int, default=50, help="untimed calls per workload first (default 50)")
    parser.add_argument("--pool", type=int, default=200, help="distinct presentations per workload (default 200)")


# -- the world -------------------------------------------------------------------------------------------------


@dataclass
class World:
    app: FastAPI
    now: datetime
    held: dict[str, HeldCredential]  # "card" or the course code
    bundle: dict[str, Any]


def _build(tmp: Path) -> World:

    now = datetime.now(UTC).replace(microsecond=0)
    url = f"sqlite:///{tmp / 'gate-bench.sqlite3'}"
    database.upgrade(url)
    settings = Settings(
        environment="test",
        database_url=url,
        issuer="http://localhost",
        secret_key=secrets.token_urlsafe(36),
        secret_file=tmp / "secret.key",
    )
    app = create_app(settings, clock=lambda: now, engine=database.make_engine(url))
    rt = app.state.idp
    with Session(app.state.wallet.engine) as s:
        (
            Builder(s, clock=lambda: now, passwords=rt.passwords, rng=rt.rng)
            .employer(PRIME, "株式会社 東京ゼネコン")
            .employer(SUB, "株式会社 山田工務店")
            .technician(TECHNICIAN, NAME, password=secrets.token_urlsafe(18), employer=SUB, since=date(2020, 4, 1))
            .record(
                TECHNICIAN,
                level=3,
                occupations=["鉄筋"],
                health_insurance="enrolled",
                pension_insurance="enrolled",
                employment_insurance="exempt",
            )
            .site(SITE, "ベンチ現場", prime=PRIME, starts_on=now.date())
            .tier(SITE, SUB, parent=PRIME)
            .assignment(SITE, TECHNICIAN, employer=SUB, start=now.date())
        )
        for i, (code, course) in enumerate(
            (("tamakake", "玉掛け技能講習"), ("kogata-idoshiki-crane", "小型移動式クレーン運転技能講習"))
        ):
            s.add(
                Certificate(
                    technician_id=TECHNICIAN,
                    issuer_id="training-body-01",
                    certificate_number=f"B-{i:03d}",
                    source="bench",
                    record_id=f"rec-bench-{i}",
                    course_kind="skill_training",
                    course_code=code,
                    course_name=course,
                    training_body="東京技能講習センター",
                    completed_on=date(2021, 5, 10 + i),
                    holder_name=NAME,
                    holder_birth_date=date(1985, 4, 12),
                    signer_kid="kid-1",
                    issued_at=now,
                    status="valid",
                    original="{}",
                    imported_at=now,
                    updated_at=now,
                )
            )
        s.commit()
        offer = create_offer(
            s, app.state.wallet, technician_id=TECHNICIAN, configuration_ids=["ccus_card", "skill_training_certificate"]
        )
        s.commit()
    with TestClient(app, base_url="http://localhost") as http:
        credentials = receive(http, offer.link, tx_code=offer.tx_code, now=int(now.timestamp()))
    held: dict[str, HeldCredential] = {}
    for item in credentials:
        course_code = _claims(item.sd_jwt).get("course_code")
        held[str(course_code) if course_code else "card"] = item
    return World(app, now, held, offline.bundle(app.state.gate, SITE, GATE, employer_id=PRIME))


def _claims(sd_jwt: str) -> dict[str, Any]:

    parsed = sdjwt.parse(sd_jwt)
    payload = json.loads(sdjwt.b64url_decode(parsed.issuer_jwt.split(".")[1]))
    claims: dict[str, Any] = sdjwt.resolve(payload, parsed.disclosures)
    return claims


def _pick(world: World, query: dict[str, Any]) -> HeldCredential:
    for claim in query.get("claims", []):
        if claim.get("path") == ["course_code"]:
            return world.held[claim["values"][0]]
    return world.held["card"]


def _vp_token(world: World, dcql: dict[str, Any], *, aud: str, nonce: str) -> dict[str, list[str]]:

    iat = int(world.now.timestamp())
    return {
        q["id"]: [_pick(world, q).present(reveal=revealed_claims(q), aud=aud, nonce=nonce, iat=iat)]
        for q in dcql["credentials"]
    }


# -- measuring -------------------------------------------------------------------------------------------------


def _measure(calls: Sequence[Callable[[], bool]], *, seconds: float, warmup: int) -> dict[str, Any]:
    for i in range(warmup):
        if not calls[i % len(calls)]():
            raise AssertionError("a warm-up check was not green")
    latencies: list[int] = []
    failures = 0
    gc.disable()
    try:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        deadline = wall0 + seconds
        i = 0
        while time.perf_counter() < deadline:
            start = time.perf_counter_ns()
            ok = calls[i % len(calls)]()
            latencies.append(time.perf_counter_ns() - start)
            failures += not ok
            i += 1
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    finally:
        gc.enable()
    ordered = sorted(x / 1e6 for x in latencies)
    return {
        "calls": len(latencies),
        "failures": failures,
        "cpu_seconds": cpu,
        "wall_seconds": wall,
        "per_cpu_second": len(latencies) / cpu if cpu else None,
        "per_wall_second": len(latencies) / wall,
        "latency_ms": {
            "p50": percentile(ordered, 50),
            "p99": percentile(ordered, 99),
            "max": ordered[-1],
            "mean": statistics.fmean(ordered),
        },
    }


def _es256_verify_us(seconds: float = 1.0) -> float:
    key = ec.generate_private_key(ec.SECP256R1())
    data = b"x" * 300
    signature = key.sign(data, ec.ECDSA(hashes.SHA256()))
    public = key.public_key()
    n, start = 0, time.process_time()
    while time.process_time() - start < seconds:
        public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        n += 1
    return (time.process_time() - start) / n * 1e6


def _inflate_us(token: str, seconds: float = 0.5) -> tuple[float, int]:

    payload = json.loads(sdjwt.b64url_decode(token.split(".")[1]))
    compressed = sdjwt.b64url_decode(payload["status_list"]["lst"])
    n, start = 0, time.process_time()
    while time.process_time() - start < seconds:
        raw = zlib.decompress(compressed)
        n += 1
    return (time.process_time() - start) / n * 1e6, len(raw)


def _qr(frames: list[str]) -> dict[str, Any]:
    return {
        "frames": len(frames),
        "frame_bytes": [len(f.encode()) for f in frames],
        "versions": [segno.make_qr(f, error="l", mode="byte").version for f in frames],
    }


def _size(world: World, dcql: dict[str, Any]) -> dict[str, Any]:

    nonce = secrets.token_urlsafe(16)
    token = _vp_token(world, dcql, aud=world.bundle["audience"], nonce=nonce)
    whole = encode_presentation(nonce, token, max_frame=10**7)[0]
    raw = len(json.dumps({"n": nonce, "vp": token}, separators=(",", ":")).encode())
    size = len(whole.encode())
    return {
        "credentials": [q["id"] for q in dcql["credentials"]],
        "sd_jwt_kb_bytes": {k: len(v[0]) for k, v in token.items()},
        "json_bytes": raw,
        "qr_payload_bytes": size,
        "single_qr_version": segno.make_qr(whole, error="l", mode="byte").version if size <= QR_V40_L_BYTES else None,
        "as_sent": _qr(encode_presentation(nonce, token)),
    }


def _in_process(token: dict[str, Any], dcql: dict[str, Any], c: Any, now: datetime, trust: Any) -> bool:

    result = check(
        token,
        dcql=dcql,
        nonce=c.nonce,
        aud=c.audience,
        now=now,
        trust=trust,
        site_id=SITE,
        gate_id=GATE,
        direction="in",
    )
    return result.ok


def _first_sight(call: Callable[[], bool]) -> bool:
    """The check of a credential whose issuer JWT this process has not parsed nor verified yet."""
    forget_issuer_jwts()
    return call()


def _offline(frames: list[str], c: Any, bundle: dict[str, Any], now: datetime) -> bool:

    return verify_offline(frames, c, bundle, now=now, direction="in").ok


def run(args: argparse.Namespace) -> dict[str, Any]:

    with tempfile.TemporaryDirectory(prefix="genba-bench-gate-") as tmp:
        console.print("building the site and the wallet (OpenID4VCI) …")
        world = _build(Path(tmp))
        bundle = world.bundle
        keys = {str(k["kid"]): ECKey.import_key(k) for k in bundle["issuer_keys"]}
        lists: dict[str, str] = dict(bundle["status_lists"])
        trust = Trust(root_pem=bundle["root_pem"], status_lists=lists.get, issuer_keys=keys)
        results: dict[str, Any] = {}
        for kind in ("general", "crane"):
            dcql = bundle["requirements"][kind]
            challenges = [
                Challenge(SITE, GATE, kind, secrets.token_urlsafe(16), int(world.now.timestamp()), bundle["audience"])
                for _ in range(args.pool)
            ]
            tokens = [_vp_token(world, dcql, aud=c.audience, nonce=c.nonce) for c in challenges]
            frames = [encode_presentation(c.nonce, t) for c, t in zip(challenges, tokens, strict=True)]
            challenges = [decode_challenge(encode_challenge(c)) for c in challenges]  # as a gate reads them

            checks = [
                partial(_in_process, token, dcql, c, world.now, trust)
                for c, token in zip(challenges, tokens, strict=True)
            ]
            offline_checks = [
                partial(_offline, f, c, bundle, world.now) for c, f in zip(challenges, frames, strict=True)
            ]
            console.print(f"{kind}: check() in-process for {args.seconds:g} s …")
            results[f"check_{kind}"] = _measure(checks, seconds=args.seconds, warmup=args.warmup)
            console.print(f"{kind}: verify_offline() for {args.seconds:g} s …")
            results[f"verify_offline_{kind}"] = _measure(offline_checks, seconds=args.seconds, warmup=args.warmup)
            console.print(f"{kind}: check() of credentials never seen before for {args.seconds:g} s …")
            first_sight = [partial(_first_sight, call) for call in checks]
            results[f"first_sight_check_{kind}"] = _measure(first_sight, seconds=args.seconds, warmup=args.warmup)
        crane = bundle["requirements"]["crane"]["credentials"]
        sizes = {
            "card": _size(world, {"credentials": crane[:1]}),
            "card_and_tamakake": _size(world, {"credentials": crane[:2]}),
            "crane_default": _size(world, {"credentials": crane}),
        }
        es256 = _es256_verify_us()
        inflate, list_bytes = _inflate_us(next(iter(lists.values())))

    # ES256 verifications per check, per credential: the KB-JWT (new for every presentation); the issuer
    # JWT too the first time a credential is seen; the root→leaf and status list signatures once per sync
    # (cached by their exact bytes), two more per credential and check without any cache
    verifications = {"general": 1, "crane": 3}
    limits = {k: 1e6 / (v * es256) for k, v in verifications.items()}
    first_limits = {k: 1e6 / (2 * v * es256) for k, v in verifications.items()}
    uncached = {k: 1e6 / (4 * v * es256) for k, v in verifications.items()}
    card_rate = results["check_general"]["per_cpu_second"] or 0.0
    crane_rate = results["check_crane"]["per_cpu_second"] or 0.0
    data: dict[str, Any] = {
        "ok": all(r["failures"] == 0 for r in results.values()),
        "benchmark": "gate",
        "timestamp": timestamp(),
        "machine": machine_info(),
        "parameters": {"seconds": args.seconds, "warmup": args.warmup, "pool": args.pool},
        "results": results,
        "reference": {
            "es256_verify_us": es256,
            "es256_verifications_per_presentation": verifications,
            "physical_limit_per_core": limits,
            "physical_limit_first_sight": first_limits,
            "physical_limit_uncached": uncached,
            "status_list_inflate_us": inflate,
            "status_list_bytes": list_bytes,
        },
        "offline_presentation_size": sizes,
        "status_list_share_card": inflate / (1e6 / card_rate) if card_rate else None,
        "goal_per_core": GOAL_PER_CORE,
        "goal_met_card": card_rate >= GOAL_PER_CORE,
        "goal_crane_per_core": GOAL_CRANE_PER_CORE,
        "goal_met_crane": crane_rate >= GOAL_CRANE_PER_CORE,
    }
    _print(data)
    return data


def _limit_of(workload: str) -> str:
    return "physical_limit_first_sight" if workload.startswith("first_sight") else "physical_limit_per_core"


def _print(data: dict[str, Any]) -> None:
    ref = data["reference"]
    table = Table(title="Gate checks, one core (status freshness and entry checked on every check)")
    table.add_column("workload")
    table.add_column("per CPU-second", justify="right")
    table.add_column("p50 / p99 ms", justify="right")
    table.add_column("physical limit", justify="right")
    table.add_column("calls, failures", justify="right")
    for name, r in data["results"].items():
        kind = name.rsplit("_", 1)[-1]
        table.add_row(
            name,
            f"{r['per_cpu_second']:.0f} /s",
            f"{r['latency_ms']['p50']:.3f} / {r['latency_ms']['p99']:.3f}",
            f"{ref[_limit_of(name)][kind]:.0f} /s",
            f"{r['calls']}, {r['failures']}",
        )
    console.print(table)
    sizes = Table(title="Offline presentation (GP1 QR payload, error correction L, byte mode)")
    sizes.add_column("presentation")
    sizes.add_column("JSON bytes", justify="right")
    sizes.add_column("QR payload bytes", justify="right")
    sizes.add_column("one QR code?", justify="right")
    sizes.add_column("as sent (frames × bytes, versions)", justify="right")
    for name, s in data["offline_presentation_size"].items():
        sent = s["as_sent"]
        sizes.add_row(
            name,
            str(s["json_bytes"]),
            str(s["qr_payload_bytes"]),
            f"version {s['single_qr_version']}" if s["single_qr_version"] else "no (> 2,953 bytes)",
            f"{sent['frames']} × {sent['frame_bytes']}, v{sent['versions']}",
        )
    console.print(sizes)
    console.print(
        f"ES256 verify {ref['es256_verify_us']:.0f} µs ({1e6 / ref['es256_verify_us']:.0f}/s/core); "
        f"a card check does {ref['es256_verifications_per_presentation']['general']}, crane work "
        f"{ref['es256_verifications_per_presentation']['crane']}; status list inflate "
        f"{ref['status_list_inflate_us']:.0f} µs ({ref['status_list_bytes']:,} bytes), once per list and sync "
        f"(cached; it would be {(data['status_list_share_card'] or 0) * 100:.0f} % of a card check otherwise). "
        f"Goal ≥ {data['goal_per_core']:.0f}/s/core for a card: {'met' if data['goal_met_card'] else 'NOT met'}; "
        f"≥ {data['goal_crane_per_core']:.0f}/s/core for crane work: {'met' if data['goal_met_crane'] else 'NOT met'}."
    )
