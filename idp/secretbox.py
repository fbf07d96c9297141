"""Encryption at rest for small secrets (TOTP seeds, later signing keys).

AES-256-GCM (``cryptography``) with a key derived from the master secret by HKDF-SHA256,
one derived key per purpose so a value encrypted for one use cannot be replayed in another.
"""

from __future__ import annotations

import base64

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from common.errors import GenbaError
from idp.runtime import Randomness

VERSION = "v1"


class SecretBoxError(GenbaError, ValueError):
    """Ciphertext could not be decrypted (wrong key, wrong purpose or tampered): the service
    cannot sign until the right ``GENBA_SECRET_KEY`` is back (RFC 6749 §5.2 ``temporarily_unavailable``)."""

    code = "temporarily_unavailable"
    status = 503


def derive_key(master: bytes, purpose: str, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=f"genba:{purpose}".encode()).derive(master)


class SecretBox:
    def __init__(self, master: bytes, purpose: str, rng: Randomness) -> None:
        self._aead = AESGCM(derive_key(master, purpose))
        self._aad = purpose.encode()
        self._rng = rng

    def seal(self, plaintext: bytes) -> str:
        nonce = self._rng.token_bytes(12)
        ct = self._aead.encrypt(nonce, plaintext, self._aad)
        return f"{VERSION}:" + base64.urlsafe_b64encode(nonce + ct).decode()

    def open(self, sealed: str) -> bytes:
        version, _, body = sealed.partition(":")
        if version != VERSION:
            raise SecretBoxError("unknown ciphertext version")
        raw = base64.urlsafe_b64decode(body)
        try:
            return self._aead.decrypt(raw[:12], raw[12:], self._aad)
        except InvalidTag as exc:
            raise SecretBoxError("ciphertext does not open with this key") from exc
