"""Single use of a challenge where no database is at hand (``genba gate verify --bundle``): the nonces
already answered, in a small file beside the bundle, kept for as long as a challenge is current.

The gate page does the same in memory (a challenge is dropped once someone answered it); the server
keeps the nonce of every recorded check (wallet.gate.service.nonce_used). Without this, the same
presentation read again for the same challenge was green again (issue 12, hole 7). The file is locked
while it is read and written, so two card readers sharing it cannot both accept one presentation.
"""

from __future__ import annotations

import fcntl
import os
from datetime import datetime, timedelta
from pathlib import Path

#: how long a nonce is remembered: the challenge lifetime and the clock skew the check allows
KEEP = timedelta(minutes=7)


def consume(path: Path, nonce: str, *, now: datetime) -> bool:
    """Record ``nonce`` as used; False when it was used already (a replay). ``OSError`` if unwritable."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+", encoding="utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        cutoff = (now - KEEP).timestamp()
        kept: dict[str, float] = {}
        for line in handle.read().splitlines():
            value, _, at = line.partition("\t")
            try:
                if value and float(at) >= cutoff:
                    kept[value] = float(at)
            except ValueError:
                continue
        if nonce in kept:
            return False
        kept[nonce] = now.timestamp()
        handle.seek(0)
        handle.truncate()
        handle.write("".join(f"{n}\t{t:.0f}\n" for n, t in kept.items()))
        return True
