"""Reading a file uploaded by a training body: JSON (an array of records) or CSV, in UTF-8 (with or
without BOM) or Shift_JIS (cp932), with a detached JWS over the exact file bytes (RFC 7515
Appendix F): ``<protected header>..<signature>``, header ``{"alg": "ES256", "kid", "iat"}``.

A signature that does not verify over the bytes as received rejects the whole file.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.registry import HeaderParameter

from connectors.trust import TrustedSigner
from connectors.verify import BAD_SIGNATURE, MALFORMED, UNKNOWN_SIGNER, Rejection, reject

REGISTRY = jws.JWSRegistry(header_registry={"iat": HeaderParameter("Issued at", "int")}, algorithms=["ES256"])
MAX_BYTES = 50_000_000
CSV_FIELDS = (
    "record_id",
    "certificate_number",
    "course_kind",
    "course_code",
    "course_name",
    "completed_on",
    "holder_name",
    "holder_kana",
    "holder_birth_date",
    "technician_id",
    "status",
    "supersedes",
)


@dataclass(frozen=True)
class SignedFile:
    signer: TrustedSigner
    issued_at: datetime
    sha256: str
    rows: list[dict[str, Any]]
    encoding: str


def sign(content: bytes, key: Any, *, kid: str, iat: int) -> str:
    """For training bodies and tests: the detached signature of ``content``."""
    full = jws.serialize_compact({"alg": "ES256", "kid": kid, "iat": iat}, content, key, registry=REGISTRY)
    header, _, signature = full.split(".")
    return f"{header}..{signature}"


def decode_text(content: bytes) -> tuple[str, str]:
    """UTF-8 (BOM allowed) first, then Shift_JIS (cp932, the Windows superset Excel writes)."""
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return content.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise ValueError("the file is neither UTF-8 nor Shift_JIS")


def read(content: bytes, signature: str, signers: dict[str, TrustedSigner]) -> SignedFile | Rejection:
    if len(content) > MAX_BYTES:
        return reject(MALFORMED)
    try:
        encoded = signature.strip().split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
        if not isinstance(header, dict) or signature.strip().count(".") != 2:
            raise ValueError("not a detached JWS")
    except (ValueError, UnicodeDecodeError):
        return reject(MALFORMED)
    signer = signers.get(str(header.get("kid")))
    if signer is None:
        return reject(UNKNOWN_SIGNER)
    try:
        jws.deserialize_compact(signature.strip(), signer.key, payload=content, algorithms=["ES256"], registry=REGISTRY)
        issued_at = datetime.fromtimestamp(int(header["iat"]), tz=UTC)
    except (JoseError, ValueError):
        return reject(BAD_SIGNATURE)
    except (KeyError, TypeError, OverflowError):
        return reject(MALFORMED)
    try:
        text, encoding = decode_text(content)
        rows = _rows(text)
    except ValueError:
        return reject(MALFORMED)
    return SignedFile(signer, issued_at, hashlib.sha256(content).hexdigest(), rows, encoding)


def _rows(text: str) -> list[dict[str, Any]]:
    stripped = text.lstrip()
    if stripped.startswith("["):
        data = json.loads(stripped)
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ValueError("JSON files hold an array of record objects")
        return data
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"certificate_number", "holder_name"} <= set(reader.fieldnames):
        raise ValueError(f"CSV header must name the fields {', '.join(CSV_FIELDS)}")
    return [dict(row) for row in reader]
