"""Genba ID's credentials checked by independent implementations, against a real server process:

- @sd-jwt/sd-jwt-vc verifies what Genba ID issues (ES256 with the key from /.well-known/jwt-vc-issuer,
  key binding required: nonce, aud, iat, sd_hash), presented by the Python holder library;
- @sd-jwt/jwt-status-list decodes the published status list (offline: the JWT fetched by Python);
- @openid4vc/openid4vci runs the whole pre-authorized code flow as the wallet with its own P-256 key,
  and Genba ID's verifier accepts the presentation the Node holder makes.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.support.npm_dir import NodePackages
from tests.support.server import LiveServer
from tools import holder
from wallet import sdjwt, status, verifier

AUD, NONCE = "https://gate.genba-interop.test/site-1", "nonce-7Hq2kF"
HTTP_TIMEOUT = 30.0


def _payload(token: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    return value


def _receive(server: LiveServer, offer: dict[str, Any], *, batch: int = 1) -> list[holder.HeldCredential]:
    with httpx.Client(timeout=HTTP_TIMEOUT) as http:
        return holder.receive(http, offer["link"], tx_code=offer["tx_code"], now=int(time.time()), batch=batch)


def _issuer_jwk(server: LiveServer, credential: str) -> dict[str, Any]:
    kid = json.loads(base64.urlsafe_b64decode(credential.split(".")[0] + "=="))["kid"]
    keys = httpx.get(server.url("/.well-known/jwt-vc-issuer"), timeout=HTTP_TIMEOUT).json()["jwks"]["keys"]
    [jwk] = [k for k in keys if k["kid"] == kid]
    return dict(jwk)


def _status_list(credential: str) -> tuple[str, int]:
    reference = _payload(credential.split("~")[0])["status"]["status_list"]
    response = httpx.get(reference["uri"], timeout=HTTP_TIMEOUT)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/statuslist+jwt")
    return response.text, int(reference["idx"])


def _ok(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["ok"], json.dumps(answer.get("error"), ensure_ascii=False, indent=2)[:4000]
    result: dict[str, Any] = answer["result"]
    return result


def test_sd_jwt_vc_library_verifies_genba_credentials_with_key_binding(
    wallet_js: NodePackages, live_server: LiveServer, offer_for: Callable[..., dict[str, Any]]
) -> None:
    """SD-JWT VC (draft-ietf-oauth-sd-jwt-vc) §3 and RFC 9901 §7.3 by @sd-jwt/sd-jwt-vc: the issuer
    signature with the key from /.well-known/jwt-vc-issuer (§5), every disclosure digest, the KB-JWT
    (typ, cnf key, nonce, sd_hash; aud and iat checked beside the library), and the status (0 VALID)."""
    [held] = _receive(live_server, offer_for())
    now = int(time.time())
    presentation = held.present(reveal=["name", "level", "employer"], aud=AUD, nonce=NONCE, iat=now)
    status_jwt, _ = _status_list(held.sd_jwt)
    answer = wallet_js.run(
        "main.mjs",
        "verify",
        payload={
            "presentation": presentation,
            "issuer_jwk": _issuer_jwk(live_server, held.sd_jwt),
            "nonce": NONCE,
            "aud": AUD,
            "now": now,
            "status_list_jwt": status_jwt,
            "required_claims": ["name", "level"],
        },
    )
    result = _ok(answer)
    assert result["header"]["typ"] == "dc+sd-jwt"
    claims = result["claims"]
    assert claims["name"] == "佐藤 花子" and claims["level"] == 1
    assert "technician_id" not in claims and "name_kana" not in claims  # not disclosed
    assert claims["iss"] == live_server.base_url and claims["vct"].endswith("/vct/ccus-technician-card")
    assert result["kb"]["nonce"] == NONCE and result["kb"]["aud"] == AUD
    assert result["statuses"] == [status.VALID]


def test_sd_jwt_vc_library_rejects_bad_presentations(
    wallet_js: NodePackages, live_server: LiveServer, offer_for: Callable[..., dict[str, Any]]
) -> None:
    """RFC 9901 §7.1 step 5 (a disclosure not matching a digest) and §7.3 (nonce, aud, KB required),
    as an independent verifier enforces them on Genba ID's credentials."""
    [held] = _receive(live_server, offer_for())
    issuer_jwk = _issuer_jwk(live_server, held.sd_jwt)
    now = int(time.time())
    good = held.present(reveal=["name"], aud=AUD, nonce=NONCE, iat=now)
    parsed = sdjwt.parse(good)
    salt, name, _ = json.loads(sdjwt.b64url_decode(parsed.disclosures[0]))
    forged = sdjwt.Parsed(parsed.issuer_jwt, (sdjwt.make_disclosure(salt, name, "田中 一郎"),), None)
    cases = {
        "wrong_nonce": (good, "another-nonce", AUD),
        "wrong_aud": (good, NONCE, "https://another-gate.example"),
        "tampered_disclosure": (forged.without_kb + (parsed.kb_jwt or ""), NONCE, AUD),
        "no_kb": (parsed.without_kb, NONCE, AUD),
    }
    for problem, (presentation, nonce, aud) in cases.items():
        answer = wallet_js.run(
            "main.mjs",
            "verify",
            payload={"presentation": presentation, "issuer_jwk": issuer_jwk, "nonce": nonce, "aud": aud, "now": now},
        )
        assert answer["ok"] is False, (problem, answer)


def test_status_list_decodes_with_jwt_status_list(
    wallet_js: NodePackages, live_server: LiveServer, offer_for: Callable[..., dict[str, Any]]
) -> None:
    """draft-ietf-oauth-status-list §4.1 (bits, DEFLATE/ZLIB, base64url) and §7.1 decoded by
    @sd-jwt/jwt-status-list (getListFromStatusListJWT and StatusList.decompressStatusList agree) after
    ``genba credentials revoke`` and ``suspend``; the library's verifier reports the status too."""
    offers = {name: offer_for() for name in ("revoked", "suspended", "valid")}
    held = {name: _receive(live_server, offer)[0] for name, offer in offers.items()}
    live_server.genba("credentials", "revoke", "--technician-id", offers["revoked"]["technician_id"], "--json")
    live_server.genba("credentials", "suspend", "--technician-id", offers["suspended"]["technician_id"], "--json")
    lists = {name: _status_list(h.sd_jwt) for name, h in held.items()}
    assert len({token.split(".")[1] and _payload(token)["sub"] for token, _ in lists.values()}) == 1
    token = lists["valid"][0]  # one list holds all three (fetched after the changes)
    indices = {name: idx for name, (_, idx) in lists.items()}
    result = _ok(
        wallet_js.run("main.mjs", "status", payload={"status_list_jwt": token, "indices": list(indices.values())})
    )
    assert result["bits"] == 2
    values = {name: result["values"][str(idx)] for name, idx in indices.items()}
    assert values == {"revoked": status.INVALID, "suspended": status.SUSPENDED, "valid": status.VALID}
    lst = _payload(token)["status_list"]
    for name, idx in indices.items():  # and Genba ID's own decoder agrees
        assert status.decode(sdjwt.b64url_decode(lst["lst"]), idx, lst["bits"]) == values[name]
    now = int(time.time())
    presentation = held["revoked"].present(reveal=["name"], aud=AUD, nonce=NONCE, iat=now)
    answer = wallet_js.run(
        "main.mjs",
        "verify",
        payload={
            "presentation": presentation,
            "issuer_jwk": _issuer_jwk(live_server, held["revoked"].sd_jwt),
            "nonce": NONCE,
            "aud": AUD,
            "now": now,
            "status_list_jwt": token,
        },
    )
    assert _ok(answer)["statuses"] == [status.INVALID]


def _node_issue(wallet_js: NodePackages, offer: dict[str, Any], *, patch: bool) -> dict[str, Any]:
    answer: dict[str, Any] = wallet_js.run(
        "main.mjs",
        "issue",
        payload={
            "offer_link": offer["link"],
            "tx_code": offer["tx_code"],
            "configuration_id": "ccus_card",
            "aud": AUD,
            "nonce": NONCE,
            "reveal": ["name", "level"],
            "patch_as_metadata": patch,
        },
    )
    return answer


def test_openid4vci_wallet_library_receives_a_credential_genba_verifies(
    wallet_js: NodePackages, live_server: LiveServer, offer_for: Callable[..., dict[str, Any]]
) -> None:
    """OpenID4VCI 1.0 end to end with @openid4vc/openid4vci as the wallet: §4.1.3 offer by reference,
    §12.2 issuer metadata and RFC 8414 authorization server metadata, §6 token request with
    ``tx_code``, §7 nonce, §8 credential request with a ``jwt`` proof (Appendix F.1) signed by a
    P-256 key made in Node; the Node holder presents with key binding and Genba ID's verifier, with
    the root pinned from /wallet/root.pem, accepts it. The metadata is used as served (unpatched)."""
    offer = offer_for(cli=True)  # the operator's path: genba credentials offer --json
    result = _ok(_node_issue(wallet_js, offer, patch=False))
    assert result["authorization_servers"] == [live_server.base_url]
    assert result["token_type"] == "Bearer" and result["notification_id"]
    assert result["authorization_details"][0]["credential_identifiers"] == ["ccus_card"]
    payload = _payload(result["credential"].split("~")[0])
    assert payload["cnf"]["jwk"] == result["holder_jwk"]  # bound to the Node key
    assert result["node_claims"]["name"] == "佐藤 花子" and result["node_statuses"] == [status.VALID]
    root = httpx.get(live_server.url("/wallet/root.pem"), timeout=HTTP_TIMEOUT).text
    verified = verifier.verify(
        result["presentation"],
        now=datetime.fromtimestamp(result["now"], UTC),
        aud=AUD,
        nonce=NONCE,
        skew=timedelta(seconds=60),
        root_pem=root,
    )
    assert verified.claims["name"] == "佐藤 花子" and verified.claims["level"] == 1
    assert "technician_id" not in verified.claims


def test_openid4vci_wallet_library_accepts_the_authorization_server_metadata(
    wallet_js: NodePackages, live_server: LiveServer, offer_for: Callable[..., dict[str, Any]]
) -> None:
    """RFC 8414 §2 (``introspection_endpoint_auth_signing_alg_values_supported`` and
    ``revocation_endpoint_auth_signing_alg_values_supported`` MUST be present with the JWT-based
    methods) as @openid4vc/openid4vci validates it, unpatched."""
    _ok(_node_issue(wallet_js, offer_for(), patch=False))


def test_openid4vci_wallet_library_sees_a_wrong_tx_code_refused(
    wallet_js: NodePackages, live_server: LiveServer, offer_for: Callable[..., dict[str, Any]]
) -> None:
    """OpenID4VCI 1.0 §6.3: a wrong Transaction Code is ``invalid_grant`` (HTTP 400), as the library
    reports it to the wallet."""
    offer = offer_for()
    offer["tx_code"] = f"{(int(offer['tx_code']) + 1) % 1_000_000:06d}"
    answer = wallet_js.run(
        "main.mjs",
        "token",
        payload={"offer_link": offer["link"], "tx_code": offer["tx_code"], "patch_as_metadata": False},
    )
    assert answer["ok"] is False
    assert "invalid_grant" in json.dumps(answer["error"]), answer["error"]
