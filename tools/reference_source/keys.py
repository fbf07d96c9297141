"""Signing keys of the training bodies and the pre-registered client's secret, kept in the data dir.

Generated once, on first start, with the operating system's randomness; never committed. Each
private key is a JWK in ``<data_dir>/keys/<slot>.json`` (mode 0600, directory 0700). A file is
written whole under a temporary name and then linked into place, so a crash never leaves half a
key and two processes starting at once agree on one key.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey

from tools.reference_source.catalog import KEY_SLOTS, KeySlot

CLIENT_ID = "genba-id"
CLIENT_SECRET_FILE = "client_secret"  # noqa: S105  (a file name)
KEYS_DIR = "keys"


class KeyFileError(RuntimeError):
    """A key file exists but is not a P-256 private JWK of the expected body."""


@dataclass(frozen=True)
class BodyKey:
    slot: KeySlot
    key: ECKey

    @property
    def kid(self) -> str:
        return self.key.thumbprint()

    @property
    def body_id(self) -> str:
        return self.slot.body_id

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = dict(self.key.as_dict(private=False))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "ES256"})
        return jwk

    def listing(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "jwk": self.public_jwk(),
            "valid_from": _iso(self.slot.valid_from),
            "valid_until": _iso(self.slot.valid_until),
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def write_private(path: Path, text: str) -> bool:
    """Create ``path`` with ``text`` (mode 0600) unless it exists; True if this call created it."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _load(path: Path, slot: KeySlot) -> ECKey:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        key = ECKey.import_key(data["jwk"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KeyFileError(f"{path}: not a key file ({exc})") from None
    if data.get("body_id") != slot.body_id or not key.is_private or key.as_dict().get("crv") != "P-256":
        raise KeyFileError(f"{path}: expected a P-256 private key of {slot.body_id}")
    return key


def load_or_create_keys(data_dir: Path, slots: tuple[KeySlot, ...] = KEY_SLOTS) -> dict[str, BodyKey]:
    """Every slot's key by slot name: read from the data dir, or generated and saved the first time."""
    directory = _private_dir(_private_dir(data_dir) / KEYS_DIR)
    out: dict[str, BodyKey] = {}
    for slot in slots:
        path = directory / f"{slot.slot}.json"
        if not path.exists():
            fresh = ECKey.generate_key("P-256", private=True)
            record = {"slot": slot.slot, "body_id": slot.body_id, "jwk": fresh.as_dict(private=True)}
            write_private(path, json.dumps(record, indent=2) + "\n")
        out[slot.slot] = BodyKey(slot, _load(path, slot))
    return out


def load_or_create_client_secret(data_dir: Path) -> str:
    """The secret of the one pre-registered client ``genba-id`` (``<data_dir>/client_secret``)."""
    path = _private_dir(data_dir) / CLIENT_SECRET_FILE
    if not path.exists():
        write_private(path, secrets.token_urlsafe(32) + "\n")
    secret = path.read_text(encoding="utf-8").strip()
    if len(secret) < 16:
        raise KeyFileError(f"{path}: the client secret must be at least 16 characters")
    return secret
