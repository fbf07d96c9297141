"""The trust list: issuing bodies, the courses each may certify, and their keys with validity
periods; every change audited.

A body is trusted for its own courses only (issue 12 item 9): a training body is registered per
course (労働安全衛生法 §77, 登録教習機関), so a valid signature from a body on a certificate for a
course it does not teach is not evidence of that qualification (connectors/verify.py refuses it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from joserfc.jwk import ECKey
from sqlmodel import Session, col, select

from common.errors import GenbaError
from connectors.models import TrustedIssuer, TrustedKey, TrustEvent


class TrustError(GenbaError, ValueError):
    """An issuer key cannot be trusted as given (the operator's input)."""

    code = "invalid_request"
    status = 400


@dataclass(frozen=True)
class TrustedSigner:
    issuer_id: str
    issuer_name: str
    kid: str
    key: ECKey
    valid_from: datetime | None
    valid_until: datetime | None
    #: the course codes this body may certify (an empty set certifies nothing)
    courses: frozenset[str] = frozenset()

    def valid_at(self, when: datetime) -> bool:
        return (self.valid_from is None or self.valid_from <= when) and (
            self.valid_until is None or when < self.valid_until
        )


def add(
    *,
    session: Session,
    issuer_id: str,
    name: str,
    jwk: dict[str, Any],
    valid_from: datetime | None,
    valid_until: datetime | None,
    courses: list[str],
    actor: str,
    now: datetime,
) -> TrustedKey:
    """Add (or re-add) an issuer, the courses it may certify (replacing what was listed) and one of
    its ES256 public keys; ``kid`` is the RFC 7638 thumbprint."""
    if not isinstance(courses, list | tuple) or not all(isinstance(c, str) for c in courses):
        raise TrustError("courses must be a list of course codes")
    scope = sorted({c.strip() for c in courses if c.strip()})
    if not scope:
        raise TrustError("list the courses this body may certify (at least one course code)")
    if any(len(c) > 100 for c in scope):
        raise TrustError("a course code is at most 100 characters")
    if any(part in jwk for part in ("d", "p", "q")):
        raise TrustError("the trust list holds public keys only")
    try:
        key = ECKey.import_key(jwk)
    except (ValueError, TypeError) as exc:
        raise TrustError(f"not an EC public JWK: {exc}") from None
    if key.as_dict().get("crv") != "P-256":
        raise TrustError("only P-256 (ES256) keys are accepted")
    if valid_from and valid_until and valid_until <= valid_from:
        raise TrustError("valid_until must be after valid_from")
    kid = key.thumbprint()
    issuer = session.get(TrustedIssuer, issuer_id)
    if issuer is None:
        issuer = TrustedIssuer(issuer_id=issuer_id, name=name, added_at=now)
    issuer.name, issuer.removed_at, issuer.courses = name, None, scope
    session.add(issuer)
    row = session.get(TrustedKey, kid)
    if row is not None and row.issuer_id != issuer_id:
        raise TrustError("this key already belongs to another issuer")
    row = row or TrustedKey(kid=kid, issuer_id=issuer_id, public_jwk=key.as_dict(private=False), added_at=now)
    row.valid_from, row.valid_until, row.removed_at = valid_from, valid_until, None
    session.add(row)
    session.add(
        TrustEvent(
            at=now,
            action="add",
            issuer_id=issuer_id,
            kid=kid,
            actor=actor,
            detail={
                "valid_from": str(valid_from),
                "valid_until": str(valid_until),
                "name": name,
                "courses": " ".join(scope),
            },
        )
    )
    return row


def _published_time(value: Any, *, now: datetime) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise TrustError(f"not an ISO date-time: {str(value)[:40]!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=now.tzinfo)


def add_published(*, session: Session, bodies: Any, actor: str, now: datetime) -> tuple[list[TrustedKey], list[str]]:
    """Every body, its courses and its keys as a source publishes them (``/api/v1/bodies``), through
    ``add``: what ``genba trust import-source`` and ``genba demo`` load. A body published without
    courses is skipped (it could certify nothing); returns the keys added and the skipped body ids.
    ``TrustError`` names the body whose entry is malformed."""
    if not isinstance(bodies, list) or not all(isinstance(b, dict) for b in bodies):
        raise TrustError("the source's bodies must be a list of objects")
    added: list[TrustedKey] = []
    skipped: list[str] = []
    for body in bodies:
        if not body.get("courses"):
            skipped.append(str(body.get("body_id")))
            continue
        try:
            for key in body["keys"]:
                added.append(
                    add(
                        session=session,
                        issuer_id=body["body_id"],
                        name=body["name"],
                        jwk=key["jwk"],
                        valid_from=_published_time(key.get("valid_from"), now=now),
                        valid_until=_published_time(key.get("valid_until"), now=now),
                        courses=body["courses"],
                        actor=actor,
                        now=now,
                    )
                )
        except (KeyError, TypeError) as exc:
            raise TrustError(f"{body.get('body_id')}: malformed entry ({type(exc).__name__}: {exc})") from None
        except TrustError as exc:
            raise TrustError(f"{body.get('body_id')}: {exc}") from None
    return added, skipped


def remove(*, session: Session, issuer_id: str, kid: str | None, actor: str, now: datetime) -> int:
    """Remove one key, or the whole issuer; rows are kept (marked removed) so history stays readable."""
    keys = session.exec(
        select(TrustedKey).where(col(TrustedKey.issuer_id) == issuer_id).where(col(TrustedKey.removed_at).is_(None))
    ).all()
    chosen = [k for k in keys if kid is None or k.kid == kid]
    if not chosen and session.get(TrustedIssuer, issuer_id) is None:
        raise TrustError(f"{issuer_id} is not in the trust list")
    for key in chosen:
        key.removed_at = now
        session.add(key)
    if kid is None:
        issuer = session.get(TrustedIssuer, issuer_id)
        if issuer is not None:
            issuer.removed_at = now
            session.add(issuer)
    session.add(
        TrustEvent(
            at=now, action="remove", issuer_id=issuer_id, kid=kid, actor=actor, detail={"keys": str(len(chosen))}
        )
    )
    return len(chosen)


def signers(session: Session) -> dict[str, TrustedSigner]:
    """Every trusted key by kid, for verification."""
    stmt = (
        select(TrustedKey, TrustedIssuer)
        .where(col(TrustedKey.issuer_id) == TrustedIssuer.issuer_id)
        .where(col(TrustedKey.removed_at).is_(None))
        .where(col(TrustedIssuer.removed_at).is_(None))
    )
    return {
        key.kid: TrustedSigner(
            issuer.issuer_id,
            issuer.name,
            key.kid,
            ECKey.import_key(key.public_jwk),
            key.valid_from,
            key.valid_until,
            frozenset(issuer.courses or ()),
        )
        for key, issuer in session.exec(stmt).all()
    }


def listing(session: Session) -> list[dict[str, Any]]:
    stmt = select(TrustedKey, TrustedIssuer).where(col(TrustedKey.issuer_id) == TrustedIssuer.issuer_id)
    return [
        {
            "issuer_id": i.issuer_id,
            "name": i.name,
            "courses": list(i.courses or []),
            "kid": k.kid,
            "valid_from": k.valid_from.isoformat() if k.valid_from else None,
            "valid_until": k.valid_until.isoformat() if k.valid_until else None,
            "removed": k.removed_at is not None or i.removed_at is not None,
        }
        for k, i in session.exec(stmt.order_by(col(TrustedKey.issuer_id))).all()
    ]
