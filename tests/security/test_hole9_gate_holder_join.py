"""Issue 12, item 9: the gate joined a card and a certificate by name only. A certificate of person A
shown together with the card of person B of the same name was green, online and offline, so B could
pass crane work on A's 玉掛け.

Mechanism (wallet/gate/check.py ``_same_holder``, wallet/gate/requirements.py ``with_holder_id``):
certificates carry the holder's 技能者ID and the gate asks for it; it must be the card's. Where the
issuer's records are at hand (online, on upload) each credential must also be one issued to that
technician and bound to the key that signed its key binding.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.security.conftest import DEMO_PRIME, DEMO_SITE
from tests.support import gate_http
from tests.support.gate import KOGATA_CRANE, TAMAKAKE, add_certificates
from tests.support.http_user import Credentials, HttpUser
from tests.support.server import LiveServer
from tools.holder import HeldCredential
from wallet.gate.codec import encode_presentation
from wallet.gate.requirements import revealed_claims
from wallet.sdjwt import b64url_decode

NAME = "渡辺 健一"
INSURED = {"health_insurance": "enrolled", "pension_insurance": "enrolled", "employment_insurance": "enrolled"}


def namesakes(server: LiveServer, technician: Callable[..., Credentials]) -> tuple[list[HeldCredential], ...]:
    """A (with 玉掛け and 小型移動式クレーン) and B (none), both named NAME, each with their own wallet."""
    a = technician(name=NAME, kana="ワタナベ ケンイチ")
    b = technician(name=NAME, kana="ワタナベ ケンイチ")
    for person in (a, b):
        server.set_record(technician_id=person.username, values={"level": 2, **INSURED})
    add_certificates(server, a.username, NAME, (TAMAKAKE, KOGATA_CRANE))
    return gate_http.wallet_of(server, a.username), gate_http.wallet_of(server, b.username)


def b_card_with_a_certificates(
    a: list[HeldCredential], b: list[HeldCredential], dcql: dict[str, object], *, aud: str, nonce: str
) -> dict[str, list[str]]:
    token: dict[str, list[str]] = {}
    for query in dcql["credentials"]:  # type: ignore[attr-defined]
        codes = [c["values"][0] for c in query["claims"] if c["path"] == ["course_code"] and c.get("values")]
        held = next(h for h in a if h.claims.get("course_code") == codes[0]) if codes else gate_http.card_of(b)
        token[query["id"]] = [held.present(reveal=revealed_claims(query), aud=aud, nonce=nonce, iat=int(time.time()))]
    return token


def test_a_namesakes_certificate_is_refused_online(
    server: LiveServer,
    technician: Callable[..., Credentials],
    staff: Callable[..., Credentials],
    users: Callable[..., HttpUser],
) -> None:
    """OpenID4VP 1.0 online check for crane work: B's card and A's certificates, same name — red."""
    a, b = namesakes(server, technician)
    gate = users(server, staff(employer_id=DEMO_PRIME, role="staff")).sign_in()
    body = {"site_id": DEMO_SITE, "gate_id": "h9-online", "work_kind": "crane", "direction": "in"}
    created = gate.post("/gate/requests", content=json.dumps(body), headers=gate_http.JSON)
    assert created.status_code == 200, created.text[:300]
    query = parse_qs(urlsplit(created.json()["link"]).query)
    client_id, request_uri = query["client_id"][0], query["request_uri"][0]
    with httpx.Client(timeout=30.0) as phone:
        claims = json.loads(b64url_decode(phone.get(request_uri).text.split(".")[1]))
        token = b_card_with_a_certificates(a, b, claims["dcql_query"], aud=client_id, nonce=claims["nonce"])
        posted = phone.post(claims["response_uri"], data={"vp_token": json.dumps(token), "state": claims["state"]})
    assert posted.status_code == 200, posted.text[:300]
    result = gate.get(f"/gate/requests/{created.json()['request_id']}/result").json()["result"]
    assert result["ok"] is False, result
    assert "holder_mismatch" in [r["code"] for r in result["reasons"]], result["reasons"]
    events, _ = gate_http.gate_rows(server, DEMO_SITE, "h9-online")
    assert events == []


def test_a_namesakes_certificate_uploaded_from_an_offline_gate_makes_no_entry(
    server: LiveServer,
    technician: Callable[..., Credentials],
    staff: Callable[..., Credentials],
    users: Callable[..., HttpUser],
) -> None:
    """The offline profile: the server's check of the uploaded presentation refuses it too."""
    a, b = namesakes(server, technician)
    gate = users(server, staff(employer_id=DEMO_PRIME, role="staff")).sign_in()
    assert gate.who is not None
    bundle = gate_http.sync(gate, DEMO_SITE, "h9-offline")
    c = gate_http.challenge(DEMO_SITE, "h9-offline", work_kind="crane")
    token = b_card_with_a_certificates(a, b, bundle["requirements"]["crane"], aud=c.audience, nonce=c.nonce)
    event = gate_http.queued(c, encode_presentation(c.nonce, token), by=gate.who.username)
    answer = gate.post("/gate/events", content=json.dumps([event]), headers=gate_http.JSON)
    assert answer.status_code == 200 and answer.json()["unverified"] == 1, answer.text[:300]
    events, refusals = gate_http.gate_rows(server, DEMO_SITE, "h9-offline")
    assert events == [] and "holder_mismatch" in [r.reason_code for r in refusals], [r.reason for r in refusals]
