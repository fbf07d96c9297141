"""Credential offers (OpenID4VCI 1.0 §4.1) by reference, with a pre-authorized code and a ``tx_code``
delivered through another channel; and the pre-authorized code grant at the token endpoint (§6.1)
with limited ``tx_code`` attempts (wrong code: ``invalid_grant``, HTTP 400)."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import segno
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError
from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from wallet.credentials import CERTIFICATE
from wallet.models import CredentialOffer
from wallet.runtime import WalletRuntime, pre_authorized_code, sha256_hex

PRE_AUTH_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
OFFER_SCHEME = "openid-credential-offer://"


@dataclass(frozen=True)
class NewOffer:
    offer_id: str
    offer_uri: str
    link: str
    tx_code: str | None
    qr_svg: str


def create_offer(
    session: Session,
    runtime: WalletRuntime,
    *,
    technician_id: str,
    configuration_ids: list[str],
    with_tx_code: bool = True,
) -> NewOffer:
    """The offer itself is fetched by reference (``credential_offer_uri``), so the QR stays small."""
    now = runtime.clock()
    offer_id = secrets.token_urlsafe(24)
    code = pre_authorized_code(runtime, offer_id)  # handed out only in the offer document (below)
    tx_code = (
        "".join(secrets.choice("0123456789") for _ in range(runtime.config.tx_code_length)) if with_tx_code else None
    )
    session.add(
        CredentialOffer(
            id=offer_id,
            technician_id=technician_id,
            configuration_ids=configuration_ids,
            pre_authorized_code_hash=sha256_hex(code),
            tx_code_hash=sha256_hex(tx_code) if tx_code else None,
            created_at=now,
            expires_at=now + runtime.config.offer_lifetime,
        )
    )
    session.flush()
    uri = f"{runtime.config.issuer}/wallet/offers/{offer_id}"
    link = f"{OFFER_SCHEME}?credential_offer_uri={quote(uri, safe='')}"
    return NewOffer(offer_id, uri, link, tx_code, str(segno.make(link, error="m").svg_inline(scale=4)))


def offer_document(session: Session, runtime: WalletRuntime, offer_id: str) -> dict[str, Any] | None:
    """§4.1.1: credential_issuer, credential_configuration_ids, grants (pre-authorized code + tx_code)."""
    row = session.get(CredentialOffer, offer_id)
    now = runtime.clock()
    if row is None or row.expires_at <= now or row.redeemed_at is not None:
        return None
    code = pre_authorized_code(runtime, offer_id)  # the same on every fetch: a refetch voids nothing
    row.fetched_at = now
    session.add(row)
    grant: dict[str, Any] = {"pre-authorized_code": code}
    if row.tx_code_hash:
        grant["tx_code"] = {
            "length": runtime.config.tx_code_length,
            "input_mode": "numeric",
            "description": "現場IDの画面に表示された確認番号 / the code shown in Genba ID",
        }
    return {
        "credential_issuer": runtime.config.issuer,
        "credential_configuration_ids": row.configuration_ids,
        "grants": {PRE_AUTH_GRANT: grant},
    }


def redeem(session: Session, runtime: WalletRuntime, code: str, tx_code: str | None) -> CredentialOffer:
    """Single use (§4.1.1); a wrong ``tx_code`` counts an attempt and the offer dies after the limit
    (§6.3, §13.6.1); a ``tx_code`` the offer did not ask for is ``invalid_request`` (§6.3).

    An attempt is taken (one conditional UPDATE, committed) *before* the code is compared, so guesses
    sent in parallel to several workers get at most ``tx_code_attempts`` comparisons between them
    (issue 12 item 9: counting after the comparison let every parallel guess be judged); the claim
    is a second conditional UPDATE, so two redemptions of the same code cannot both win."""
    row = session.exec(
        select(CredentialOffer).where(col(CredentialOffer.pre_authorized_code_hash) == sha256_hex(code or ""))
    ).first()
    now = runtime.clock()
    if row is None or row.redeemed_at is not None or row.expires_at <= now:
        raise InvalidGrantError("the pre-authorized code is unknown, used or expired")
    if row.tx_code_hash:
        if not tx_code:
            raise InvalidRequestError("tx_code is required")
        attempt = session.execute(
            update(CredentialOffer)
            .where(col(CredentialOffer.id) == row.id)
            .where(col(CredentialOffer.tx_code_attempts) < runtime.config.tx_code_attempts)
            .values(tx_code_attempts=CredentialOffer.tx_code_attempts + 1)
            .execution_options(synchronize_session=False)
        )
        session.commit()  # the attempt counts whatever follows
        if attempt.rowcount != 1:  # type: ignore[attr-defined]
            raise InvalidGrantError("too many wrong tx_code attempts")
        if not hmac.compare_digest(sha256_hex(tx_code), row.tx_code_hash):
            raise InvalidGrantError("the tx_code is wrong")
    elif tx_code:
        raise InvalidRequestError("this offer has no tx_code; do not send one")
    result = session.execute(
        update(CredentialOffer)
        .where(col(CredentialOffer.id) == row.id)
        .where(col(CredentialOffer.redeemed_at).is_(None))
        .where(col(CredentialOffer.expires_at) > now)
        .values(redeemed_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise InvalidGrantError("the pre-authorized code is unknown, used or expired")
    set_committed_value(row, "redeemed_at", now)  # what the UPDATE stored, without a second write
    return row


def token_details(row: CredentialOffer, certificate_refs: list[str]) -> list[dict[str, Any]]:
    """§6.2: ``authorization_details`` with ``credential_identifiers`` (one per imported certificate)."""
    details = []
    for configuration in row.configuration_ids:
        entry: dict[str, Any] = {"type": "openid_credential", "credential_configuration_id": configuration}
        entry["credential_identifiers"] = certificate_refs if configuration == CERTIFICATE else [configuration]
        details.append(entry)
    return details


class PreAuthorizedCodeGrant:
    """The pre-authorized code grant (§6.1) the application gives the provider's token endpoint (its
    ``TokenGrant`` extension point): the form and the request's DPoP key are handed in explicitly."""

    grant_type = PRE_AUTH_GRANT

    def __init__(self, runtime: WalletRuntime) -> None:
        self._runtime = runtime

    def token_response(self, params: Mapping[str, str], *, jkt: str | None) -> dict[str, Any]:
        runtime = self._runtime
        if not params.get("pre-authorized_code"):
            raise InvalidRequestError("pre-authorized_code is required")
        with Session(runtime.engine, expire_on_commit=False) as session:
            row = redeem(session, runtime, params["pre-authorized_code"], params.get("tx_code"))
            session.commit()
        refs = [c.ref for c in runtime.holders.certificates(row.technician_id) if c.status == "valid"]
        details = token_details(row, refs)
        # the code authenticates the holder, not a client: a ``client_id`` sent along is not
        # authenticated and so is not believed (OpenID4VCI §6.1, issue 12 hole 1)
        token, expires_in = runtime.tokens.mint(reference=row.id, authorization_details=details, jkt=jkt)
        return {
            "access_token": token,
            "token_type": "DPoP" if jkt else "Bearer",
            "expires_in": expires_in,
            "authorization_details": details,
        }
