"""Gate operations shared by the online flow, the offline upload and ``genba gate verify``:
requirements per site and kind of work, trust material, and recording results.

Recording (issue 12, "work history only from verified presentations"): an entry is stored only from
a ``GateResult`` the server computed itself, with its evidence (nonce, card digest, what was checked)
and the staff who recorded it; each challenge nonce makes at most one entry, so a presentation
answered again — as the other direction, or a second scan at a card reader — is a replay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from joserfc.jwk import ECKey
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from wallet.gate.check import GateResult, Issued, Trust
from wallet.gate.models import GateEvent, GateRefusal, SiteRequirement
from wallet.gate.ports import Entry, GateDirectory
from wallet.gate.requirements import WORK_KINDS, default_dcql, with_holder_id
from wallet.models import IssuedCredential
from wallet.runtime import WalletRuntime

REPLAYED = {
    "code": "replayed",
    "ja": "この提示はすでに使われています（再提示）",
    "en": "this presentation was already used (replay)",
}


@dataclass
class GateRuntime:
    wallet: WalletRuntime
    directory: GateDirectory

    @property
    def client_id(self) -> str:
        """OpenID4VP 1.0 §5.9.3 ``x509_san_dns``: the verifier's host, named in its certificate."""
        return "x509_san_dns:" + (urlsplit(self.wallet.config.issuer).hostname or "localhost")

    def offline_audience(self, site_id: str, gate_id: str) -> str:
        return f"genba-gate:{site_id}:{gate_id}"


def requirement(session: Session, runtime: GateRuntime, site_id: str, work_kind: str) -> dict[str, Any]:
    row = session.exec(
        select(SiteRequirement)
        .where(col(SiteRequirement.site_id) == site_id)
        .where(col(SiteRequirement.work_kind) == work_kind)
    ).first()
    issuer = runtime.wallet.config.issuer
    return with_holder_id(dict(row.dcql), issuer) if row else default_dcql(issuer, work_kind)


def requirements(session: Session, runtime: GateRuntime, site_id: str) -> dict[str, dict[str, Any]]:
    kinds = {k: requirement(session, runtime, site_id, k) for k in WORK_KINDS}
    for row in session.exec(select(SiteRequirement).where(col(SiteRequirement.site_id) == site_id)).all():
        kinds[row.work_kind] = with_holder_id(dict(row.dcql), runtime.wallet.config.issuer)
    return kinds


def set_requirement(
    session: Session,
    *,
    site_id: str,
    work_kind: str,
    label_ja: str,
    label_en: str,
    dcql: dict[str, Any],
    by: str,
    now: datetime,
) -> SiteRequirement:
    if not isinstance(dcql.get("credentials"), list) or not dcql["credentials"]:
        raise ValueError("a DCQL query needs a non-empty credentials list")
    for query in dcql["credentials"]:
        if not isinstance(query, dict) or not query.get("id") or query.get("format") != "dc+sd-jwt":
            raise ValueError("each credential query needs an id and format dc+sd-jwt")
        paths = [c.get("path") for c in query.get("claims", []) if isinstance(c, dict)]
        if ["course_code"] in paths and ["holder_name"] not in paths:
            raise ValueError("a certificate query must ask for holder_name (matched against the card)")
    row = session.exec(
        select(SiteRequirement)
        .where(col(SiteRequirement.site_id) == site_id)
        .where(col(SiteRequirement.work_kind) == work_kind)
    ).first() or SiteRequirement(
        site_id=site_id,
        work_kind=work_kind,
        label_ja=label_ja,
        label_en=label_en,
        dcql=dcql,
        updated_by=by,
        updated_at=now,
    )
    row.label_ja, row.label_en, row.dcql, row.updated_by, row.updated_at = label_ja, label_en, dcql, by, now
    session.add(row)
    return row


def live_trust(runtime: GateRuntime, now: datetime) -> Trust:
    """Online: status lists straight from the publisher, status-list signers from the key ring (keys in
    their use period only), and the issuer's records of what it issued to whom."""
    wallet = runtime.wallet
    root_pem = wallet.keys.current(now).root_pem  # first: it may rotate in the key that signs the lists
    keys = {str(k["kid"]): ECKey.import_key(k) for k in wallet.keys.signing(now)}  # type: ignore[arg-type]
    prefix = f"{wallet.config.issuer}/wallet/status/"

    def lookup(uri: str) -> str | None:
        return wallet.publisher.token(uri[len(prefix) :]) if uri.startswith(prefix) else None

    @lru_cache(maxsize=16)
    def issued(uri: str, index: int) -> Issued | None:
        if not uri.startswith(prefix):
            return None
        with Session(wallet.engine) as session:
            row = session.exec(
                select(IssuedCredential)
                .where(col(IssuedCredential.status_list_id) == uri[len(prefix) :])
                .where(col(IssuedCredential.status_index) == index)
            ).first()
            return Issued(row.technician_id, row.holder_jkt) if row else None

    return Trust(root_pem=root_pem, status_lists=lookup, issuer_keys=keys, issued=issued)


def refusal_recorded(session: Session, event_key: str) -> bool:
    return session.exec(select(GateRefusal.id).where(col(GateRefusal.event_key) == event_key)).first() is not None


def nonce_used(session: Session, nonce: str) -> bool:
    """Whether a check answering this challenge nonce was already recorded, green or red."""
    if session.exec(select(GateEvent.id).where(col(GateEvent.nonce) == nonce)).first() is not None:
        return True
    return session.exec(select(GateRefusal.id).where(col(GateRefusal.nonce) == nonce)).first() is not None


@dataclass(frozen=True)
class Recorded:
    #: recorded | duplicate (the same event again: an upload retried) | replayed | refused
    outcome: str
    #: the entry to hand to the work history once the caller has committed
    entry: Entry | None = None


def record(
    session: Session,
    runtime: GateRuntime,
    result: GateResult,
    *,
    site_id: str,
    gate_id: str,
    direction: str,
    at: datetime,
    mode: str,
    received_at: datetime,
    recorded_by: str | None = None,
    work_kind: str = "general",
    retry_is_duplicate: bool = True,
) -> Recorded:
    """Store an entry/exit from a result the server verified, with its evidence, or the refusal with
    its reason. Idempotent by event key when ``retry_is_duplicate`` (an upload retried after a lost
    reply); a second use of the nonce is otherwise a replay, refused and recorded as such."""
    if not result.ok or not result.event_key or not result.technician_id:
        if result.event_key and refusal_recorded(session, result.event_key):
            return Recorded("duplicate")  # the same check uploaded again (a retry after a lost reply)
        _refusal(session, result, site_id, gate_id, at, mode, recorded_by)
        return Recorded("refused")
    same = session.exec(select(GateEvent).where(col(GateEvent.event_key) == result.event_key)).first()
    if retry_is_duplicate and (same is not None or refusal_recorded(session, result.event_key)):
        return Recorded("duplicate")
    if same is not None or (result.nonce and nonce_used(session, result.nonce)):
        return _replayed(session, result, site_id, gate_id, at, mode, recorded_by, keyed=retry_is_duplicate)
    try:
        with session.begin_nested():
            session.add(
                GateEvent(
                    event_key=result.event_key,
                    site_id=site_id,
                    gate_id=gate_id,
                    technician_id=str(result.technician_id),
                    direction=direction,
                    at=at,
                    mode=mode,
                    received_at=received_at,
                    nonce=result.nonce,
                    credential_digest=result.card_digest,
                    evidence=result.evidence(mode=mode, verified_at=received_at, work_kind=work_kind),
                    recorded_by=recorded_by,
                )
            )
    except IntegrityError:  # the same key or nonce, recorded by a concurrent request
        return Recorded("duplicate") if retry_is_duplicate else Recorded("replayed")
    source = "offline" if mode == "offline" else "online"
    return Recorded("recorded", Entry(result.event_key, site_id, str(result.technician_id), direction, at, source))


def _replayed(
    session: Session,
    result: GateResult,
    site_id: str,
    gate_id: str,
    at: datetime,
    mode: str,
    by: str | None,
    *,
    keyed: bool,
) -> Recorded:
    """The refusal of a replay; ``keyed`` (uploads) keeps the event key so that a retry is a duplicate."""
    replay = GateResult(
        ok=False,
        technician_id=result.technician_id,
        nonce=result.nonce,
        reasons=[dict(REPLAYED)],
        event_key=result.event_key if keyed else None,
    )
    _refusal(session, replay, site_id, gate_id, at, mode, by)
    result.ok, result.reasons = False, [dict(REPLAYED)]
    return Recorded("replayed")


def _refusal(
    session: Session, result: GateResult, site_id: str, gate_id: str, at: datetime, mode: str, by: str | None
) -> None:
    reasons = "; ".join(f"{r.get('ja', '')} / {r.get('en', '')}" for r in result.reasons)
    code = str((result.reasons or [{}])[0].get("code", "refused"))[:40]
    try:
        with session.begin_nested():
            session.add(
                GateRefusal(
                    site_id=site_id,
                    gate_id=gate_id,
                    at=at,
                    reason_code=code,
                    reason=reasons[:300],
                    technician_id=str(result.technician_id)[:14] if result.technician_id else None,
                    mode=mode,
                    event_key=result.event_key,
                    nonce=(result.nonce or "")[:64] or None,
                    recorded_by=by,
                )
            )
    except IntegrityError:  # recorded by a concurrent upload of the same queue
        pass
