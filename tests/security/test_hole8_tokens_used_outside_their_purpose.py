"""Issue 12 item 8, the token findings: an access token is not an ID token; a refresh token whose
consent is gone is not active; a rotated refresh token replayed inside the grace period does not
start a second live family; fetching an offer again does not void the holder's code. Each is done
over HTTP against a real server, as the attacker or the careful relying party would."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import text

from tests.support.http_user import Credentials, HttpUser, authorize, csrf_of, pkce
from tests.support.rp import code_flow, details, introspect, token
from tests.support.server import LiveServer

PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


def test_an_access_token_is_not_accepted_as_id_token_hint(
    server: LiveServer,
    technician: Callable[..., Credentials],
    client_app: Callable[..., dict[str, Any]],
    users: Callable[..., HttpUser],
) -> None:
    """OIDC Core §3.1.2.1: ``id_token_hint`` is an ID Token previously issued; an access token
    (``typ: at+jwt``, RFC 9068 §2.1) is refused at /authorize and at RP-initiated logout (OIDC
    RP-Initiated Logout §2) even though the same keys signed it."""
    me = users(server, technician()).sign_in()
    rp = client_app()
    tokens = code_flow(me, rp)
    access = tokens["access_token"]
    _, challenge = pkce()
    params = {
        "client_id": rp["client_id"],
        "response_type": "code",
        "redirect_uri": "https://rp.example/cb",
        "scope": "openid",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    assert authorize(me, {**params, "id_token_hint": tokens["id_token"]}).get("code"), "the control: a real hint"
    refused = authorize(me, {**params, "id_token_hint": access})
    assert refused.get("error") == ["invalid_request"] and "code" not in refused, refused
    logout = me.get("/session/end?" + urlencode({"id_token_hint": access, "client_id": rp["client_id"]}))
    assert logout.status_code == 400, (logout.status_code, logout.text[:300])


def test_introspection_says_inactive_once_the_consent_a_refresh_token_relies_on_is_revoked(
    server: LiveServer,
    technician: Callable[..., Credentials],
    client_app: Callable[..., dict[str, Any]],
    users: Callable[..., HttpUser],
) -> None:
    """RFC 7662 §2.2: ``active`` means the token is usable now. RFC 9396 / docs/domain.md rule 1: once the
    technician revokes the consent, the refresh token is refused (invalid_grant), so introspection
    must not call it active meanwhile."""
    me = users(server, technician()).sign_in()
    rp = client_app()
    entry = {"type": "genba_technician_data", "groups": ["qualifications"], "purpose": "安全書類の作成"}
    tokens = code_flow(me, rp, scope="openid offline_access", authorization_details=details(entry))
    refresh = tokens["refresh_token"]
    assert introspect(server.base_url, rp, refresh)["active"] is True, "the control: active before"
    inbox = me.get("/consent")
    consent_id = re.search(r'action="/consent/([^/"]+)/revoke"', inbox.text)
    assert consent_id, inbox.text[:500]
    revoked = me.post(
        f"/consent/{consent_id.group(1)}/revoke", data={"csrf_token": csrf_of(inbox.text), "confirmed": "yes"}
    )
    assert revoked.status_code in (200, 303), revoked.text[:300]
    assert introspect(server.base_url, rp, refresh) == {"active": False}
    again = token(server.base_url, rp, {"grant_type": "refresh_token", "refresh_token": refresh})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_a_refresh_token_replayed_inside_the_grace_period_leaves_one_live_token(
    server: LiveServer,
    technician: Callable[..., Credentials],
    client_app: Callable[..., dict[str, Any]],
    users: Callable[..., HttpUser],
) -> None:
    """RFC 9700 §4.14.2 (refresh token rotation): the grace period lets two tabs refresh at once, but
    must not fork the grant into two live token families: after the replay, the successor of the
    first use is no longer live beyond the grace period, so only one refresh token chain remains."""
    me = users(server, technician()).sign_in()
    rp = client_app()
    first = code_flow(me, rp, scope="openid offline_access")["refresh_token"]
    one = token(server.base_url, rp, {"grant_type": "refresh_token", "refresh_token": first})
    two = token(server.base_url, rp, {"grant_type": "refresh_token", "refresh_token": first})  # inside the grace
    assert one.status_code == 200 and two.status_code == 200, (one.text, two.text)
    assert one.json()["refresh_token"] != two.json()["refresh_token"]
    with server.database() as engine, engine.connect() as conn:
        live = conn.execute(
            text("SELECT count(*) FROM refreshtoken WHERE client_id = :c AND rotated_at IS NULL"),
            {"c": rp["client_id"]},
        ).scalar_one()
    assert live == 1, f"{live} live refresh token families for one grant"


def test_fetching_an_offer_again_does_not_void_the_holders_code(
    server: LiveServer, technician: Callable[..., Credentials]
) -> None:
    """OpenID4VCI 1.0 §4.1.1 (offer by reference): anyone who sees the QR can fetch the offer; a fetch
    must not re-mint the pre-authorized code and so void the code the holder's wallet already has."""
    me = technician()
    made = json.loads(server.genba("credentials", "offer", "--technician-id", me.username, "--json").stdout)
    holder = httpx.get(made["offer_uri"], timeout=30).json()["grants"][PRE_AUTH]["pre-authorized_code"]
    stranger = httpx.get(made["offer_uri"], timeout=30)
    assert stranger.status_code == 200
    redeemed = httpx.post(
        server.url("/token"),
        data={"grant_type": PRE_AUTH, "pre-authorized_code": holder, "tx_code": made["tx_code"]},
        timeout=30,
    )
    assert redeemed.status_code == 200, redeemed.text


def test_parallel_tx_code_guesses_get_no_more_than_the_allowed_attempts(
    server: LiveServer, technician: Callable[..., Credentials]
) -> None:
    """OpenID4VCI 1.0 §13.6.1: the tx_code must not be guessable by brute force; the limit (5 wrong
    codes) holds for guesses sent in parallel too: each guess takes an attempt before it is judged,
    so of 12 parallel wrong guesses at most 5 are judged ("wrong") and the rest are refused unjudged."""
    me = technician()
    made = json.loads(server.genba("credentials", "offer", "--technician-id", me.username, "--json").stdout)
    code = httpx.get(made["offer_uri"], timeout=30).json()["grants"][PRE_AUTH]["pre-authorized_code"]
    wrong = [f"{(int(made['tx_code']) + n) % 10**6:06d}" for n in range(1, 13)]

    def guess(tx: str) -> str:
        answer = httpx.post(
            server.url("/token"),
            data={"grant_type": PRE_AUTH, "pre-authorized_code": code, "tx_code": tx},
            timeout=60,
        )
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant", answer.text
        return str(answer.json().get("error_description"))

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(guess, wrong))
    assert sum(o == "the tx_code is wrong" for o in outcomes) <= 5, outcomes
    right = httpx.post(
        server.url("/token"),
        data={"grant_type": PRE_AUTH, "pre-authorized_code": code, "tx_code": made["tx_code"]},
        timeout=30,
    )
    assert right.status_code == 400 and right.json()["error"] == "invalid_grant"


def test_authorization_details_with_a_list_for_the_configuration_id_is_a_protocol_error(
    server: LiveServer, client_app: Callable[..., dict[str, Any]]
) -> None:
    """RFC 9396 §5: a malformed ``authorization_details`` entry is ``invalid_authorization_details``
    sent back to the client, never a 500 (issue 12 item 8: a list as credential_configuration_id)."""
    rp = client_app()
    _, challenge = pkce()
    entry = {"type": "openid_credential", "credential_configuration_id": ["ccus_card"]}
    answer = httpx.get(
        server.url("/authorize"),
        params={
            "client_id": rp["client_id"],
            "response_type": "code",
            "redirect_uri": "https://rp.example/cb",
            "scope": "openid",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "authorization_details": details(entry),
        },
        timeout=30,
    )
    assert answer.status_code in (302, 303), (answer.status_code, answer.text[:300])
    assert "error=invalid_authorization_details" in answer.headers["location"]
