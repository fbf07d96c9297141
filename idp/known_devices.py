"""Known devices: a signed, long-lived cookie that a browser gets after a successful sign-in, naming
the accounts that signed in on it. NIST SP 800-63B §5.2.2 lets a verifier keep the subscriber's
"device previously used" out of the rate limit an attacker can trigger; here such a device has its own
per-account budget of failed attempts (idp/throttle.py), so failures made anywhere else never block
it (issue 12 hole 4).

The cookie proves only that this browser once completed a sign-in to the account; it authenticates
nobody (password and second factor are still required) and is worth, to a thief, a budget of guesses
no larger than the strangers' pool. It is an HMAC-SHA256 over its content under a key derived from
the master secret (the standard library does the signing; the format is small enough to write here):
``base64url(JSON {"d": device id, "a": {account id: issued at}}) "." base64url(MAC)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime, timedelta

from idp.runtime import IdpConfig, Randomness, token_urlsafe
from idp.secretbox import derive_key

COOKIE = "genba_device"
LIFETIME = timedelta(days=180)
MAX_ACCOUNTS = 8  # a shared gate tablet sees several staff; the oldest is forgotten first
MAX_COOKIE = 1200


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class KnownDevices:
    def __init__(self, config: IdpConfig, rng: Randomness) -> None:
        self._key = derive_key(config.master_secret, "known-device")
        self._config, self._rng = config, rng

    @property
    def cookie_name(self) -> str:
        return self._config.cookie_prefix + COOKIE

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def _read(self, value: str | None) -> tuple[str, dict[str, int]] | None:
        if not value or len(value) > MAX_COOKIE or value.count(".") != 1:
            return None
        body, mac = value.split(".")
        if not hmac.compare_digest(self._mac(body), mac):
            return None
        try:
            data = json.loads(_unb64(body))
        except (ValueError, binascii.Error):
            return None
        if not isinstance(data, dict):
            return None
        device, accounts = data.get("d"), data.get("a")
        if not isinstance(device, str) or not isinstance(accounts, dict):
            return None
        return device, {str(k): int(v) for k, v in accounts.items() if isinstance(v, int)}

    def device_for(self, value: str | None, *, account_id: int, now: datetime) -> str | None:
        """The device id when the cookie is genuine and names ``account_id`` signed in here within
        :data:`LIFETIME`; otherwise None (an anonymous device)."""
        read = self._read(value)
        if read is None:
            return None
        device, accounts = read
        issued = accounts.get(str(account_id))
        if issued is None or now.timestamp() - issued > LIFETIME.total_seconds():
            return None
        return device

    def remember(self, value: str | None, *, account_id: int, now: datetime) -> str:
        """The cookie after ``account_id`` signed in on this device (a new device id if it had none)."""
        read = self._read(value)
        device, accounts = read if read is not None else (token_urlsafe(self._rng, 16), {})
        horizon = now.timestamp() - LIFETIME.total_seconds()
        kept = {k: v for k, v in accounts.items() if v >= horizon and k != str(account_id)}
        newest = sorted(kept.items(), key=lambda item: item[1])[-(MAX_ACCOUNTS - 1) :]
        body = _b64(json.dumps({"d": device, "a": {**dict(newest), str(account_id): int(now.timestamp())}}).encode())
        return f"{body}.{self._mac(body)}"
