"""TOTP second factor (RFC 6238) with pyotp, enrolled by QR code (segno).

A code is accepted for the current 30-second step and one step either side (RFC 6238 §5.2
allows for clock drift); the accepted step is stored and any code for that step or an
earlier one is refused, so a code seen by someone else cannot be replayed (§5.2, last paragraph).
"""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno

from idp.runtime import Randomness

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1
ISSUER_NAME = "Genba ID"


def new_secret(rng: Randomness) -> str:
    """160-bit shared secret (RFC 4226 §4 R6 recommends 160 bits), base32 for authenticator apps."""
    return base64.b32encode(rng.token_bytes(20)).decode().rstrip("=")


def provisioning_uri(secret: str, *, account_name: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account_name, issuer_name=ISSUER_NAME
    )


def qr_svg(uri: str) -> str:
    """Inline SVG of the otpauth URI, for the enrolment page (no external image request)."""
    return str(segno.make(uri, error="m").svg_inline(scale=5, dark="#111", light="#fff"))


def current_code(secret: str, *, now: datetime) -> str:
    return str(pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).at(now))


@dataclass(frozen=True)
class TotpMatch:
    step: int


def verify(secret: str, code: str, *, now: datetime, last_step: int | None) -> TotpMatch | None:
    """Return the matched time step, or ``None`` for a wrong, expired or replayed code."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = int(now.timestamp()) // STEP_SECONDS
    matched: int | None = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        # Compare every candidate so timing does not reveal which step matched.
        if hmac.compare_digest(totp.generate_otp(step), code) and matched is None:
            matched = step
    if matched is None or (last_step is not None and matched <= last_step):
        return None
    return TotpMatch(step=matched)
