"""What the identity provider needs from its host: configuration, clock and randomness.

``app`` builds an :class:`IdpConfig` from its settings; nothing here reads the
environment, so tests can run several providers side by side with their own clocks.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class Randomness(Protocol):
    """Source of cryptographic randomness (injected so tests can be deterministic)."""

    def token_bytes(self, n: int) -> bytes: ...


class SystemRandomness:
    """The operating system's CSPRNG."""

    def token_bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)


def token_urlsafe(rng: Randomness, n: int = 32) -> str:
    """URL-safe base64 without padding of ``n`` random bytes."""
    return base64.urlsafe_b64encode(rng.token_bytes(n)).rstrip(b"=").decode()


@dataclass(frozen=True)
class ThrottleRule:
    """Failed attempts allowed per key before each further failure doubles a wait, up to ``max_delay``.
    ``shared``: strangers share the key (the account from anywhere), so its wait is jittered and told
    only as ``max_delay`` (idp/throttle.py)."""

    prefix: str
    free_failures: int
    max_delay: timedelta
    shared: bool = False


#: NIST SP 800-63B §5.2.2: limits keyed so that an attacker's failures never block the owner's known
#: device (idp/throttle.py). The first three apply to attempts from devices the account does not know.
DEFAULT_THROTTLE_RULES = (
    ThrottleRule("acct-ip", 5, timedelta(minutes=15)),
    ThrottleRule("ip", 30, timedelta(minutes=15)),
    ThrottleRule("acct", 10, timedelta(minutes=15), shared=True),
    ThrottleRule("device", 10, timedelta(minutes=15)),
)


@dataclass(frozen=True)
class IdpConfig:
    issuer: str
    master_secret: bytes = field(repr=False)
    secure_cookies: bool = False
    cookie_name: str = "genba_session"
    session_idle: timedelta = timedelta(minutes=30)
    session_absolute: timedelta = timedelta(hours=12)
    login_transaction: timedelta = timedelta(minutes=10)
    throttle_window: timedelta = timedelta(hours=1)
    throttle_rules: tuple[ThrottleRule, ...] = DEFAULT_THROTTLE_RULES
    argon2_memory_kib: int = 19 * 1024
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1
    rp_name: str = "Genba ID"
    max_body_bytes: int = 1_000_000

    @property
    def origin(self) -> str:
        parts = urlsplit(self.issuer)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def rp_id(self) -> str:
        """WebAuthn relying-party id: the issuer's host name (WebAuthn L3 §5.1.3)."""
        return urlsplit(self.issuer).hostname or "localhost"

    @property
    def cookie_prefix(self) -> str:
        """``__Host-`` binds cookies to this exact origin over https (RFC 6265bis §4.1.3.2)."""
        return "__Host-" if self.secure_cookies else ""
