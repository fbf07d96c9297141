"""The offline gate profile's QR payloads (docs/offline-gate.md).

- Challenge (gate → wallet): ``GC1:`` + base64url(JSON {v, s: site, g: gate, k: work kind, n: nonce,
  t: unix time, a: audience}).
- Presentation (wallet → gate): ``GP1:`` + base64url(raw DEFLATE(JSON {n: nonce, vp: {query id:
  [SD-JWT+KB]}})); when it does not fit one QR code, frames ``GP1/<i>/<n>:<chunk>`` shown in turn.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass
from typing import Any

from common.errors import GenbaError

CHALLENGE, PRESENTATION = "GC1:", "GP1"
#: bytes of a version 40 QR code in byte mode at error correction L; keep a margin for the prefix
QR_MAX = 2900
#: a presentation of a card and a handful of certificates is 3-6 kB compressed, ~15 kB inflated
MAX_FRAMES = 64  # room for small, easy-to-scan animated frames (~300 bytes each)
MAX_INFLATED = 512 * 1024


class CodecError(GenbaError, ValueError):
    """A presentation that does not decode (malformed QR or upload payload)."""

    code = "invalid_request"
    status = 400


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Challenge:
    site_id: str
    gate_id: str
    work_kind: str
    nonce: str
    time: int
    audience: str


def encode_challenge(c: Challenge) -> str:
    body = {"v": 1, "s": c.site_id, "g": c.gate_id, "k": c.work_kind, "n": c.nonce, "t": c.time, "a": c.audience}
    return CHALLENGE + _b64(json.dumps(body, separators=(",", ":")).encode())


def decode_challenge(text: str) -> Challenge:
    if not text.startswith(CHALLENGE) or len(text) > 600:
        raise CodecError("not a gate challenge")
    try:
        body = json.loads(_unb64(text[len(CHALLENGE) :]))
        return Challenge(str(body["s"]), str(body["g"]), str(body["k"]), str(body["n"]), int(body["t"]), str(body["a"]))
    except (ValueError, KeyError, TypeError):
        raise CodecError("the challenge cannot be read") from None


def encode_presentation(nonce: str, vp_token: dict[str, list[str]], *, max_frame: int = QR_MAX) -> list[str]:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = compressor.compress(json.dumps({"n": nonce, "vp": vp_token}, separators=(",", ":")).encode())
    text = _b64(packed + compressor.flush())
    if len(text) + len(PRESENTATION) + 1 <= max_frame:
        return [f"{PRESENTATION}:{text}"]
    size = max_frame - 16
    chunks = [text[i : i + size] for i in range(0, len(text), size)]
    return [f"{PRESENTATION}/{i + 1}/{len(chunks)}:{c}" for i, c in enumerate(chunks)]


def decode_presentation(frames: list[str]) -> tuple[str, dict[str, Any]]:
    """Reassemble (any order, duplicates ignored) and unpack; ``CodecError`` for truncated or garbage input.

    Input comes from a camera, so nothing in it is trusted: at most MAX_FRAMES frames that all agree
    on their count, and at most MAX_INFLATED bytes after decompression (no zip bombs)."""
    if not frames:
        raise CodecError("no presentation")
    if len(frames) == 1 and frames[0].startswith(PRESENTATION + ":"):
        text = frames[0][len(PRESENTATION) + 1 :]
    else:
        parts: dict[int, str] = {}
        totals: set[int] = set()
        for frame in frames:
            try:
                head, chunk = frame.split(":", 1)
                prefix, index, count = head.split("/")
                i, n = int(index), int(count)
            except ValueError:
                raise CodecError("not a presentation frame") from None
            if prefix != PRESENTATION or not (1 <= i <= n <= MAX_FRAMES):
                raise CodecError("not a presentation frame")
            parts[i] = chunk
            totals.add(n)
        if len(totals) != 1:
            raise CodecError("frames of different presentations")
        total = totals.pop()
        if sorted(parts) != list(range(1, total + 1)):
            raise CodecError("some frames are missing")
        text = "".join(parts[i] for i in range(1, total + 1))
    if len(text) > MAX_FRAMES * QR_MAX:
        raise CodecError("the presentation is too large")
    try:
        inflater = zlib.decompressobj(-15)
        raw = inflater.decompress(_unb64(text), MAX_INFLATED)
        if inflater.unconsumed_tail or not inflater.eof:
            raise CodecError("the presentation is truncated or too large")
        body = json.loads(raw)
        return str(body["n"]), dict(body["vp"])
    except (ValueError, KeyError, TypeError, zlib.error):
        raise CodecError("the presentation is truncated or damaged") from None
