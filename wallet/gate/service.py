"""Gate operations shared by the online flow, the offline upload and ``genba gate verify``:
requirements per site and kind of work, trust material, and recording results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from joserfc.jwk import ECKey
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from wallet.gate.check import GateResult, Trust
from wallet.gate.models import GateEvent, GateRefusal, SiteRequirement
from wallet.gate.ports import Entry, GateDirectory
from wallet.gate.requirements import WORK_KINDS, default_dcql
from wallet.runtime import WalletRuntime


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
    return dict(row.dcql) if row else default_dcql(runtime.wallet.config.issuer, work_kind)


def requirements(session: Session, runtime: GateRuntime, site_id: str) -> dict[str, dict[str, Any]]:
    kinds = {k: requirement(session, runtime, site_id, k) for k in WORK_KINDS}
    for row in session.exec(select(SiteRequirement).where(col(SiteRequirement.site_id) == site_id)).all():
        kinds[row.work_kind] = dict(row.dcql)
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
    """Online: status lists straight from the publisher, issuer keys from the key ring."""
    wallet = runtime.wallet
    root_pem = wallet.keys.current(now).root_pem  # first: it may rotate in the key that signs the lists
    keys = {str(k["kid"]): ECKey.import_key(k) for k in wallet.keys.published()}  # type: ignore[arg-type]

    def lookup(uri: str) -> str | None:
        prefix = f"{wallet.config.issuer}/wallet/status/"
        return wallet.publisher.token(uri[len(prefix) :]) if uri.startswith(prefix) else None

    return Trust(root_pem=root_pem, status_lists=lookup, issuer_keys=keys)


def refusal_recorded(session: Session, event_key: str) -> bool:
    return session.exec(select(GateRefusal.id).where(col(GateRefusal.event_key) == event_key)).first() is not None


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
) -> Entry | None:
    """Store an entry/exit (idempotent by event key) or the refusal with its reason. Returns the entry to
    hand to the work history once the caller has committed (None for refusals and repeats)."""
    if not result.ok or not result.event_key or not result.technician_id:
        if result.event_key and refusal_recorded(session, result.event_key):
            return None  # the same check uploaded again (a retry after a lost reply)
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
                        technician_id=result.technician_id,
                        mode=mode,
                        event_key=result.event_key,
                    )
                )
        except IntegrityError:  # recorded by a concurrent upload of the same queue
            pass
        return None
    if session.exec(select(GateEvent.id).where(col(GateEvent.event_key) == result.event_key)).first() is not None:
        return None
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
                )
            )
    except IntegrityError:
        return None
    return Entry(result.event_key, site_id, str(result.technician_id), direction, at)
