"""The credential issuer's collaborators for one application."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from wallet.keys import KeyRing
from wallet.ports import AccessTokens, HolderData
from wallet.status import StatusPublisher


@dataclass(frozen=True)
class WalletConfig:
    issuer: str
    batch_size: int = 4
    tx_code_length: int = 6
    tx_code_attempts: int = 5
    offer_lifetime: timedelta = timedelta(minutes=10)
    #: shorter than the 5-minute Bearer credential token, so a nonce can expire while the token lives
    nonce_lifetime: timedelta = timedelta(minutes=3)
    proof_max_age: timedelta = timedelta(minutes=5)


@dataclass
class WalletRuntime:
    config: WalletConfig
    engine: Engine
    clock: Callable[[], datetime]
    keys: KeyRing
    publisher: StatusPublisher
    holders: HolderData
    tokens: AccessTokens
    #: the key pre-authorized codes are derived with (:func:`pre_authorized_code`)
    code_key: bytes = field(default=b"", repr=False)


def pre_authorized_code(runtime: WalletRuntime, offer_id: str) -> str:
    """The offer's pre-authorized code, the same on every fetch of the offer: fetching it again must
    not re-mint it, or anyone who sees the QR could void the holder's code (issue 12 item 8). The
    ``tx_code``, sent by another channel, is what stops a stranger redeeming it (OpenID4VCI §13.6.1)."""
    if len(runtime.code_key) < 32:
        raise ValueError("the wallet runtime has no code key")
    mac = hmac.new(runtime.code_key, b"pre-authorized-code\x00" + offer_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
