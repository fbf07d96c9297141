"""The credential issuer's collaborators for one application."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
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


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
