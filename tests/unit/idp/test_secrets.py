"""Secrets at rest and password hashing parameters."""

from __future__ import annotations

import pytest

from idp.passwords import Passwords
from idp.runtime import SystemRandomness
from idp.secretbox import SecretBox, SecretBoxError


def test_secretbox_round_trip_and_purpose_binding() -> None:
    rng = SystemRandomness()
    box = SecretBox(b"k" * 32, "totp", rng)
    sealed = box.seal(b"JBSWY3DPEHPK3PXP")
    assert b"JBSWY3DPEHPK3PXP" not in sealed.encode()
    assert box.open(sealed) == b"JBSWY3DPEHPK3PXP"
    with pytest.raises(SecretBoxError):
        SecretBox(b"k" * 32, "signing-key", rng).open(sealed)
    with pytest.raises(SecretBoxError):
        SecretBox(b"x" * 32, "totp", rng).open(sealed)


def test_argon2id_at_owasp_minimum() -> None:
    """OWASP Password Storage: argon2id, m=19 MiB, t=2, p=1 at least."""
    hashed = Passwords(memory_kib=19 * 1024, time_cost=2, parallelism=1).hash("correct horse")
    assert hashed.startswith("$argon2id$") and "m=19456,t=2,p=1" in hashed
    with pytest.raises(ValueError):
        Passwords(memory_kib=4096, time_cost=1, parallelism=1)


def test_verify_unknown_account_is_false() -> None:
    pw = Passwords(memory_kib=19 * 1024, time_cost=2, parallelism=1)
    assert not pw.verify(None, "genba-dummy-password")
    assert pw.verify(pw.hash("correct horse"), "correct horse")
