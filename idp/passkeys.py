"""WebAuthn passkeys (W3C WebAuthn Level 3) with the ``webauthn`` library.

Registration and authentication ceremonies keep their challenge server-side in a pending
session, used once. Sign-in uses discoverable credentials (no username typed), requires
user verification, and maps the result to RFC 8176 ``amr``: ``hwk`` for a device-bound key,
``swk`` for a synced (backed-up) passkey, plus ``user`` and ``mfa`` for user verification.

py_webauthn is imported on the first ceremony, not with this module: with its CBOR, ASN.1 and X.509
dependencies it is about 15 MiB resident in every worker, most of which never sees a passkey
(issue 14: RSS per worker at rest ≤ 120 MiB).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from common.errors import GenbaError
from idp.models import Account, Passkey
from idp.runtime import IdpConfig, Randomness
from idp.sessions import ACR_AAL2, ACR_AAL3, Authentication


class PasskeyError(GenbaError, ValueError):
    """The browser's response did not verify (WebAuthn Level 2 §7); the message is safe to show."""

    code = "invalid_request"
    status = 400


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Ceremony:
    options_json: str
    challenge: str  # base64url, to keep in the pending session


def registration_options(*, config: IdpConfig, account: Account, existing: list[Passkey], rng: Randomness) -> Ceremony:
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        PublicKeyCredentialDescriptor,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    challenge = rng.token_bytes(32)
    options = generate_registration_options(
        rp_id=config.rp_id,
        rp_name=config.rp_name,
        user_name=account.username,
        user_id=account.webauthn_user_handle,
        user_display_name=account.display_name,
        challenge=challenge,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=p.credential_id) for p in existing],
    )
    return Ceremony(options_to_json(options), b64url(challenge))


def register(
    *,
    session: Session,
    config: IdpConfig,
    account_id: int,
    credential: dict[str, Any],
    challenge: str,
    label: str,
    now: datetime,
) -> Passkey:
    """Verify ``navigator.credentials.create()`` output (WebAuthn §7.1) and store the credential."""
    from webauthn import verify_registration_response
    from webauthn.helpers.exceptions import WebAuthnException

    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=b64url_decode(challenge),
            expected_rp_id=config.rp_id,
            expected_origin=config.origin,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError, AttributeError) as exc:
        # WebAuthnException, not only InvalidRegistrationResponse: py_webauthn raises its siblings
        # (InvalidJSONStructure, InvalidCBORData, ...) for a malformed response, which is the
        # caller's mistake (400), never a 500 (issue 12 item 8; found by the access-control matrix)
        raise PasskeyError("passkey registration did not verify") from exc
    if session.exec(select(Passkey).where(col(Passkey.credential_id) == verified.credential_id)).first():
        raise PasskeyError("this passkey is already registered")
    transports = credential.get("response", {}).get("transports") or []
    passkey = Passkey(
        account_id=account_id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        backed_up=verified.credential_backed_up,
        device_type=str(verified.credential_device_type.value),
        transports=[str(t) for t in transports][:8],
        label=label,
        created_at=now,
    )
    session.add(passkey)
    return passkey


def authentication_options(*, config: IdpConfig, rng: Randomness) -> Ceremony:
    from webauthn import generate_authentication_options, options_to_json
    from webauthn.helpers.structs import UserVerificationRequirement

    challenge = rng.token_bytes(32)
    options = generate_authentication_options(
        rp_id=config.rp_id,
        challenge=challenge,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return Ceremony(options_to_json(options), b64url(challenge))


def authenticate(
    *, session: Session, config: IdpConfig, credential: dict[str, Any], challenge: str, now: datetime
) -> tuple[Passkey, Authentication]:
    """Verify ``navigator.credentials.get()`` output (WebAuthn §7.2) against a stored passkey."""
    from webauthn import verify_authentication_response
    from webauthn.helpers.exceptions import WebAuthnException

    try:
        raw_id = b64url_decode(str(credential["rawId"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise PasskeyError("malformed passkey response") from exc
    passkey = session.exec(select(Passkey).where(col(Passkey.credential_id) == raw_id)).first()
    if passkey is None:
        raise PasskeyError("unknown passkey")
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=b64url_decode(challenge),
            expected_rp_id=config.rp_id,
            expected_origin=config.origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PasskeyError("passkey did not verify") from exc
    user_handle = credential.get("response", {}).get("userHandle")
    account = session.get(Account, passkey.account_id)
    if account is None or (user_handle and b64url_decode(user_handle) != account.webauthn_user_handle):
        raise PasskeyError("passkey does not belong to this account")
    passkey.sign_count = verified.new_sign_count
    passkey.backed_up = verified.credential_backed_up
    passkey.last_used_at = now
    session.add(passkey)
    key_kind = "swk" if verified.credential_backed_up else "hwk"
    amr = (key_kind, "user", "mfa") if verified.user_verified else (key_kind, "user")
    acr = ACR_AAL2 if verified.credential_backed_up else ACR_AAL3
    return passkey, Authentication(amr=amr, acr=acr)


def parse_credential(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PasskeyError("request body is not JSON") from exc
    if not isinstance(value, dict):
        raise PasskeyError("request body is not a JSON object")
    return value
