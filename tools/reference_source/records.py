"""Signing records as compact JWS (ES256, ``typ: genba-training-record+jwt``) and serving them.

Signatures are made on first use and kept: ECDSA signatures are randomised, so a record's JWS
differs from one start of the source to the next, but within one process it never changes.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from joserfc import jws

from tools.reference_source.keys import BodyKey
from tools.reference_source.seed import RecordSpec

TYP = "genba-training-record+jwt"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def encode_payload(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign(spec: RecordSpec, keys: dict[str, BodyKey]) -> str:
    """The record signed by its slot's key; a ``tamper`` spec then has its payload altered."""
    key = keys[spec.slot.slot]
    header = {"alg": "ES256", "kid": key.kid, "typ": TYP}
    compact = jws.serialize_compact(header, encode_payload(spec.payload), key.key, algorithms=["ES256"])
    if not spec.tamper:
        return compact
    protected, _, signature = compact.split(".")
    altered = {**spec.payload, **spec.tamper}
    return f"{protected}.{_b64(encode_payload(altered))}.{signature}"


def served_payload(spec: RecordSpec) -> dict[str, Any]:
    """The payload as a client reads it (after any tampering)."""
    return {**spec.payload, **spec.tamper}


class RecordStore:
    """All records in API order (fixed people first, then bulk), signed lazily."""

    def __init__(self, specs: list[RecordSpec], keys: dict[str, BodyKey]) -> None:
        self.specs = specs
        self._keys = keys
        self._signed: dict[int, str] = {}
        self._by_login: dict[str, list[int]] = {}
        for index, spec in enumerate(specs):
            if spec.login is not None:
                self._by_login.setdefault(spec.login, []).append(index)

    def __len__(self) -> int:
        return len(self.specs)

    def signed(self, index: int) -> str:
        value = self._signed.get(index)
        if value is None:
            value = self._signed[index] = sign(self.specs[index], self._keys)
        return value

    def for_login(self, login: str) -> list[str]:
        return [self.signed(i) for i in self._by_login.get(login, [])]

    def specs_for_login(self, login: str) -> list[RecordSpec]:
        return [self.specs[i] for i in self._by_login.get(login, [])]

    def page(self, cursor: int, limit: int) -> tuple[list[str], int | None]:
        end = min(cursor + limit, len(self.specs))
        records = [self.signed(i) for i in range(cursor, end)]
        return records, (end if end < len(self.specs) else None)
