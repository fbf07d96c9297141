"""Data-driven SD-JWT (RFC 9901) and SD-JWT VC conformance cases for ``wallet.sdjwt``: one folder per
case under ``cases/`` with a ``case.yml``, parametrized by folder name.

Three kinds of case:

- ``disclosures``: published disclosures with their digests. ``digest()`` must reproduce each digest
  from the exact string; the decoded array must be ``[salt, (name,) value]``; the base64url of the same
  content in the same JSON encoding must be the published string byte for byte (``encoding: rfc`` is
  ``json.dumps`` with its default ``", "`` separators and ASCII escapes, ``rfc_utf8`` the same without
  escapes, ``compact`` is what ``make_disclosure`` writes).
- ``sd_jwt``: a published SD-JWT (issuer-signed JWT, disclosures, optional KB-JWT) with the issuer's
  public key: the signature and ``typ`` verify, the disclosures resolve to the published processed
  payload, and a KB-JWT verifies with ``cnf.jwk`` and reproduces the published ``sd_hash``.
- ``constructed``: a payload and named disclosures written out in the case; ``{{name}}`` stands for the
  digest of disclosure ``name`` and ``{{decoy}}`` for a fresh random digest. The test encodes the
  disclosures and digests with its own code (hashlib, json, base64), signs with a P-256 key generated
  for the run (no private key is ever committed), presents the listed disclosures and expects either
  the processed claims or the verifier's stable error code.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.jwk import ECKey

from wallet import sdjwt

CASES_DIR = Path(__file__).resolve().parent / "cases"
CASE_NAMES = sorted(p.name for p in CASES_DIR.iterdir() if (p / "case.yml").is_file())


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CASES_DIR / name / "case.yml").read_text(encoding="utf-8"))
    return data


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sha256_b64(text: str) -> str:
    return b64url(hashlib.sha256(text.encode("ascii")).digest())


def encode(content: list[Any], encoding: str) -> str:
    if encoding == "rfc":
        return b64url(json.dumps(content).encode())
    if encoding == "rfc_utf8":
        return b64url(json.dumps(content, ensure_ascii=False).encode())
    if encoding == "compact":
        return b64url(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode())
    raise ValueError(encoding)


def test_every_case_folder_has_a_valid_case_file() -> None:
    """The harness itself: each folder holds a case.yml of a known kind with a title and a spec clause."""
    assert len(CASE_NAMES) >= 20
    for name in CASE_NAMES:
        case = load(name)
        assert case["kind"] in ("disclosures", "sd_jwt", "constructed"), name
        assert case["title"] and case["spec"], name


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case(name: str) -> None:
    """Each case cites its clause in ``spec`` (RFC 9901 §..., SD-JWT VC §...)."""
    case = load(name)
    {"disclosures": check_disclosures, "sd_jwt": check_sd_jwt, "constructed": check_constructed}[case["kind"]](case)


# -- kinds -----------------------------------------------------------------------------------------


def check_disclosures(case: dict[str, Any]) -> None:
    digests = []
    for vector in case["vectors"]:
        disclosure = vector["disclosure"]
        content = (
            [vector["salt"], vector["name"], vector["value"]] if "name" in vector else [vector["salt"], vector["value"]]
        )
        assert sdjwt.digest(disclosure) == vector["digest"], disclosure
        assert json.loads(sdjwt.b64url_decode(disclosure)) == content
        encoding = vector["encoding"]
        if encoding != "other":
            assert encode(content, encoding) == disclosure, f"{encoding} encoding of {content}"
        if encoding == "compact":  # what the issuer writes: byte for byte
            assert sdjwt.make_disclosure(vector["salt"], vector.get("name"), vector["value"]) == disclosure
        # Whatever the encoding, make_disclosure's own output decodes to the same content.
        ours = sdjwt.make_disclosure(vector["salt"], vector.get("name"), vector["value"])
        assert json.loads(sdjwt.b64url_decode(ours)) == content
        digests.append(vector["digest"])
    if case.get("distinct_digests"):
        assert len(set(digests)) == len(digests)


def check_sd_jwt(case: dict[str, Any]) -> None:
    key = ECKey.import_key(case["issuer_jwk"])
    expect = case["expect"]
    try:
        parsed = sdjwt.parse(case["sd_jwt"])
        _, payload = sdjwt.verify_issuer_jwt(parsed.issuer_jwt, key, typ=case["typ"])
        claims = sdjwt.resolve(payload, parsed.disclosures)
    except sdjwt.SdJwtError as exc:
        assert exc.code == expect.get("error"), f"rejected with {exc.code}: {exc}"
        return
    assert "error" not in expect, f"accepted, expected {expect.get('error')}"
    assert len(parsed.disclosures) == expect["disclosures"]
    assert claims == expect["claims"]
    binding = case.get("key_binding")
    if binding:
        assert parsed.kb_jwt is not None
        assert sdjwt.sd_hash(parsed) == binding["sd_hash"]
        kb = sdjwt.verify_key_binding(
            parsed, claims["cnf"]["jwk"], aud=binding["aud"], nonce=binding["nonce"], now=binding["iat"], skew=60
        )
        assert kb["sd_hash"] == binding["sd_hash"]
        with pytest.raises(sdjwt.SdJwtError):
            sdjwt.verify_key_binding(
                parsed, claims["cnf"]["jwk"], aud=binding["aud"], nonce="another", now=binding["iat"], skew=60
            )
    else:
        assert parsed.kb_jwt is None


def _fill(node: Any, digests: dict[str, str]) -> Any:
    if isinstance(node, str) and node.startswith("{{") and node.endswith("}}"):
        name = node[2:-2]
        return sha256_b64(secrets.token_urlsafe(24)) if name == "decoy" else digests[name]
    if isinstance(node, dict):
        return {k: _fill(v, digests) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, digests) for v in node]
    return node


def _references(node: Any) -> set[str]:
    if isinstance(node, str) and node.startswith("{{") and node.endswith("}}") and node != "{{decoy}}":
        return {node[2:-2]}
    if isinstance(node, dict):
        return set().union(*(_references(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(_references(v) for v in node)) if node else set()
    return set()


def build(case: dict[str, Any], key: ECKey) -> str:
    """Encode the case's disclosures (dependencies first), sign its payload, present its choice."""
    templates: dict[str, list[Any]] = case["disclosures"] or {}
    encoded: dict[str, str] = {}
    digests: dict[str, str] = {}
    pending = dict(templates)
    while pending:
        ready = [n for n, t in pending.items() if _references(t) <= set(digests)]
        assert ready, f"circular disclosures in {sorted(pending)}"
        for name in ready:
            content = _fill(copy.deepcopy(pending.pop(name)), digests)
            encoded[name] = b64url(json.dumps(content, ensure_ascii=False).encode())  # spaces: not ours
            digests[name] = sha256_b64(encoded[name])
    payload = _fill(copy.deepcopy(case["payload"]), digests)
    sd_alg = case.get("sd_alg", "sha-256")
    if sd_alg is not None:
        payload["_sd_alg"] = sd_alg
    issuer_jwt = jwt.encode({"typ": "dc+sd-jwt", "alg": "ES256"}, payload, key, algorithms=["ES256"])
    tamper = case.get("tamper")
    if tamper:
        where, _, change = tamper.partition(":")
        assert where == "payload"
        claim, _, value = change.partition("=")
        header, body, signature = issuer_jwt.split(".")
        claims = json.loads(sdjwt.b64url_decode(body))
        claims[claim] = json.loads(value)
        issuer_jwt = ".".join([header, b64url(json.dumps(claims).encode()), signature])
    chosen = [item[4:] if item.startswith("raw:") else encoded[item] for item in case["present"]]
    return issuer_jwt + "~" + "".join(d + "~" for d in chosen)


def check_constructed(case: dict[str, Any]) -> None:
    key = ECKey.generate_key("P-256")
    public = ECKey.import_key(key.as_dict(private=False))
    value = build(case, key)
    expect = case["expect"]
    try:
        parsed = sdjwt.parse(value)
        _, payload = sdjwt.verify_issuer_jwt(parsed.issuer_jwt, public)
        claims = sdjwt.resolve(payload, parsed.disclosures)
    except sdjwt.SdJwtError as exc:
        assert exc.code == expect.get("error"), f"rejected with {exc.code}: {exc}"
        return
    assert "error" not in expect, f"accepted as {claims}, expected {expect['error']}"
    assert claims == expect["claims"]
