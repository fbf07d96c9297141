"""The gate's online flow (OpenID4VP 1.0) against an independent implementation, on a real server
process: ``@openid4vc/openid4vp`` (OpenWallet Foundation) resolves our request by reference — fetches the
``request_uri``, verifies the signed request object (``typ`` oauth-authz-req+jwt, ``x5c`` chained to the
pinned root, client_id prefix ``x509_san_dns`` naming the leaf's DNS SAN and the response_uri's host) —
``dcql`` parses and validates our DCQL query and selects the Python holder's SD-JWT VCs for it; the
presentation (KB-JWT with ``aud`` = client_id) is built in Python; the library checks the response
against the request on the verifier's side (``validateOpenid4vpAuthorizationResponsePayload``,
``DcqlPresentationResult``) and posts it with ``direct_post``. The gate must then show green.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.interop.openid4vp_js.conftest import NAME, SITE, TECHNICIAN, GateSite
from tests.support.npm_dir import NodePackages
from wallet.gate.requirements import revealed_claims

pytestmark = pytest.mark.e2e


def _ask(site: GateSite, work_kind: str, direction: str = "in") -> tuple[str, str]:
    created = site.staff.post(
        "/gate/requests", json={"site_id": SITE, "gate_id": "north", "work_kind": work_kind, "direction": direction}
    )
    assert created.status_code == 200, created.text
    body = created.json()
    return str(body["request_id"]), str(body["link"])


def _step(packages: NodePackages, operation: str, **payload: Any) -> dict[str, Any]:
    answer: dict[str, Any] = packages.run("wallet.mjs", operation, payload=payload)
    assert answer["ok"], f"@openid4vc/openid4vp {operation} refused: {answer['error']}"
    result: dict[str, Any] = answer["result"]
    return result


def _present(site: GateSite, resolved: dict[str, Any], *, aud: str | None = None) -> dict[str, list[str]]:
    """The Python holder answers each credential query with the credential dcql selected, revealing
    only the claims the query names; KB-JWT aud = the client_id the library resolved."""
    request = resolved["request"]
    held = site.credentials
    token: dict[str, list[str]] = {}
    for query in request["dcql_query"]["credentials"]:
        [index, *_] = resolved["selection"][query["id"]]
        token[query["id"]] = [
            held[index].present(
                reveal=revealed_claims(query),
                aud=aud or request["client_id"],
                nonce=request["nonce"],
                iat=int(time.time()),
            )
        ]
    return token


def _result(site: GateSite, request_id: str) -> dict[str, Any]:
    body = site.staff.get(f"/gate/requests/{request_id}/result").json()
    assert body["answered"], body
    result: dict[str, Any] = body["result"]
    return result


def _green_flow(openid4vp_js: NodePackages, gate_site: GateSite, work_kind: str) -> None:
    request_id, link = _ask(gate_site, work_kind)
    resolved = _step(
        openid4vp_js,
        "resolve",
        link=link,
        root_pem=gate_site.root_pem,
        credentials=[h.sd_jwt for h in gate_site.credentials],
    )
    host = gate_site.server.base_url.split("://", 1)[1].split(":", 1)[0]
    assert resolved["provided"] == "jar" and resolved["jar"] == {"send_by": "reference", "signer": "x5c"}
    assert resolved["client"]["prefix"] == "x509_san_dns" and resolved["client"]["identifier"] == host
    assert resolved["client"]["effective"] == f"x509_san_dns:{host}" == resolved["request"]["client_id"]
    assert resolved["version"] == 100  # the library's number for OpenID4VP 1.0 final
    request = resolved["request"]
    assert request["response_mode"] == "direct_post" and request["response_type"] == "vp_token"
    assert len(request["nonce"]) >= 22
    ids = [q["id"] for q in request["dcql_query"]["credentials"]]
    expected = ["ccus_card"] + (["course_tamakake", "course_kogata_idoshiki_crane"] if work_kind == "crane" else [])
    assert ids == expected and resolved["can_be_satisfied"] is True, resolved
    held = gate_site.credentials
    assert held[resolved["selection"]["ccus_card"][0]] is gate_site.card
    if work_kind == "crane":  # the forklift certificate is not selected for 玉掛け or the crane
        assert [held[i].claims["course_code"] for i in resolved["selection"]["course_tamakake"]] == ["tamakake"]
        crane = resolved["selection"]["course_kogata_idoshiki_crane"]
        assert [held[i].claims["course_code"] for i in crane] == ["kogata-idoshiki-crane"]

    answered = _step(openid4vp_js, "respond", request=request, vp_token=_present(gate_site, resolved))
    assert answered["dcql_type"] == "dcql" and answered["presentation_can_be_satisfied"] is True, answered
    assert answered["response_mode"] == "direct_post" and answered["state_sent"] == request["state"]
    assert answered["status"] == 200, answered
    result = _result(gate_site, request_id)
    assert result["ok"] is True, result
    assert (result["technician_id"], result["name"], result["level"]) == (TECHNICIAN, NAME, 2)


def _other_audience(openid4vp_js: NodePackages, gate_site: GateSite) -> None:
    """The library posts whatever the holder made; our gate must still check KB ``aud`` = client_id."""
    request_id, link = _ask(gate_site, "general", "out")
    resolved = _step(
        openid4vp_js, "resolve", link=link, root_pem=gate_site.root_pem, credentials=[gate_site.card.sd_jwt]
    )
    token = _present(gate_site, resolved, aud="https://verifier.example")
    answered = _step(openid4vp_js, "respond", request=resolved["request"], vp_token=token)
    assert answered["status"] == 200, answered
    result = _result(gate_site, request_id)
    assert result["ok"] is False and result["reasons"][0]["code"] == "invalid_kb_aud", result


def _other_root(openid4vp_js: NodePackages, gate_site: GateSite) -> None:
    """The control for the wallet's trust check: with another root pinned, the library refuses to resolve."""

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Genba ID Credential Root")])
    other = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.now(UTC) - timedelta(days=1))
        .not_valid_after(datetime.now(UTC) + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    _, link = _ask(gate_site, "general")
    answer = openid4vp_js.run(
        "wallet.mjs",
        "resolve",
        payload={
            "link": link,
            "root_pem": other.public_bytes(serialization.Encoding.PEM).decode(),
            "credentials": [gate_site.card.sd_jwt],
        },
    )
    assert answer["ok"] is False, answer
    problem = json.dumps(answer["error"]).lower()
    assert "signature" in problem or "verif" in problem, answer


def test_the_gate_interoperates_with_openid4vc_openid4vp_and_dcql(
    openid4vp_js: NodePackages, gate_site: GateSite, subtests: pytest.Subtests
) -> None:
    """One test (one live server, one xdist worker) with a subtest per flow."""
    for work_kind in ("general", "crane"):
        with subtests.test(msg=f"request by reference, DCQL selection, direct_post: {work_kind} is green"):
            _green_flow(openid4vp_js, gate_site, work_kind)
    with subtests.test(msg="KB-JWT for another audience, posted by the library: red"):
        _other_audience(openid4vp_js, gate_site)
    with subtests.test(msg="request object not under the pinned root: the library refuses it"):
        _other_root(openid4vp_js, gate_site)
