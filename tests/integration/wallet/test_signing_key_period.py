"""Issue 12, item 9 ("a retired key signing backdated records"), for the credential keys (wallet/keys.py):
a key signs for USE_DAYS and its certificate lasts CREDENTIAL_MAX_DAYS longer, so that what it signed
stays verifiable. Before, the verifier only checked that the certificate was valid *now*: the retired
key (or whoever holds it) could sign new credentials for another year, dated now or backdated, and a
gate took them. Now the credential's ``iat`` must fall within the key's use period, nothing dated in
the future is accepted, the key ring never signs with or trusts a retired key for status lists, and
where the issuer's records are at hand (online) a credential must be one it issued.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey

from tests.integration.wallet.conftest import Seeded
from tests.support.clock import FrozenClock
from tests.support.wallet import Wallet, new_offer
from wallet import sdjwt, verifier
from wallet.gate.check import Issued, Trust, check
from wallet.gate.requirements import default_dcql
from wallet.keys import CREDENTIAL_MAX_DAYS, USE_DAYS, IssuerKeys
from wallet.runtime import WalletRuntime

SKEW = timedelta(seconds=60)
AUD, NONCE = "genba-gate:GENBA-K-1:main", "n-retired-key-0001"


@pytest.fixture
def card(client: TestClient, seeded: Seeded, wallet: Wallet) -> dict[str, Any]:
    """A card the issuer really issued: its payload and disclosures, to copy into forgeries."""
    token = wallet.access_token(new_offer(client.app, seeded.technician_id, ["ccus_card"]))  # type: ignore[arg-type]
    _, body = wallet.issue(token["access_token"], "ccus_card")
    credential: str = body["credentials"][0]["credential"]
    parsed = sdjwt.parse(credential)
    payload = json.loads(sdjwt.b64url_decode(parsed.issuer_jwt.split(".")[1]))
    return {"credential": credential, "payload": payload, "claims": sdjwt.resolve(payload, parsed.disclosures)}


def forge(keys: IssuerKeys, card: dict[str, Any], *, iat: datetime, holder: ECKey, exp: datetime | None = None) -> str:
    """A card signed with ``keys`` (the issuer's own key, as if it leaked) dated ``iat``, bound to ``holder``."""
    payload = {k: v for k, v in card["payload"].items() if k not in ("_sd", "_sd_alg")}
    payload |= {"iat": int(iat.timestamp()), "exp": int((exp or iat + timedelta(days=365)).timestamp())}
    payload["cnf"] = {"jwk": holder.as_dict(private=False)}
    claims = {k: v for k, v in card["claims"].items() if k not in payload and k not in ("_sd", "_sd_alg")}
    header = {"kid": keys.kid, "x5c": keys.x5c}
    issued = sdjwt.issue(payload=payload, selective=claims, key=keys.key, header=header, decoys=1)
    return issued.sd_jwt


def shown(credential: str, holder: ECKey, now: datetime) -> str:
    reveal = ["technician_id", "name", "level", "level_colour", "social_insurance"]
    return sdjwt.present(credential, reveal=reveal, holder_key=holder, aud=AUD, nonce=NONCE, iat=int(now.timestamp()))


def code_of(presentation: str, now: datetime, root: str) -> str:
    with pytest.raises(verifier.VerificationError) as caught:
        verifier.verify(presentation, now=now, aud=AUD, nonce=NONCE, skew=SKEW, root_pem=root)
    return caught.value.code


def test_a_retired_key_cannot_sign_a_credential_a_gate_accepts(
    card: dict[str, Any], issuer: WalletRuntime, clock: FrozenClock
) -> None:
    """Dated after the key's use period (signed by a retired key), before its certificate began
    (backdated), or in the future: each is refused, while the key's own genuine card still verifies."""
    made = clock()
    old = issuer.keys.current(made)
    root = old.root_pem
    holder = ECKey.generate_key("P-256")
    clock.advance(days=USE_DAYS + 30)  # the key is retired; its certificate lasts CREDENTIAL_MAX_DAYS more
    now = clock()
    assert issuer.keys.current(now).kid != old.kid, "a retired key signs nothing new"
    assert old.kid not in {k["kid"] for k in issuer.keys.signing(now)}
    assert old.kid in {k["kid"] for k in issuer.keys.published()}  # its credentials still verify
    # dated inside its use period: the signature alone cannot tell (see the next test for what can)
    inside = verifier.verify(
        shown(forge(old, card, iat=made + timedelta(days=40), holder=holder), holder, now),
        now=now,
        aud=AUD,
        nonce=NONCE,
        skew=SKEW,
        root_pem=root,
    )
    assert inside.claims["technician_id"] == card["claims"]["technician_id"]
    assert code_of(shown(forge(old, card, iat=now, holder=holder), holder, now), now, root) == "untrusted_issuer"
    backdated = forge(old, card, iat=made - timedelta(days=2), exp=now + timedelta(days=30), holder=holder)
    assert code_of(shown(backdated, holder, now), now, root) == "untrusted_issuer"
    ahead = now + timedelta(hours=1)
    new = issuer.keys.current(now)
    assert code_of(shown(forge(new, card, iat=ahead, holder=holder), holder, now), now, root) == "invalid_iat"
    assert CREDENTIAL_MAX_DAYS >= 365


def test_a_backdated_card_inside_the_use_period_is_refused_where_the_issuers_records_are_at_hand(
    card: dict[str, Any], issuer: WalletRuntime, clock: FrozenClock
) -> None:
    """What the signature cannot tell (a leaked key dating a card inside its use period), the issuer's
    records can: online, the gate asks whether this status entry was issued, to this holder key."""
    now = clock()
    keys = issuer.keys.current(now)
    holder = ECKey.generate_key("P-256")
    forged = shown(forge(keys, card, iat=now - timedelta(minutes=1), holder=holder), holder, now)
    token = {"ccus_card": [forged]}
    dcql = default_dcql(issuer.config.issuer, "general")
    uri = card["payload"]["status"]["status_list"]["uri"]
    lists = {uri: issuer.publisher.token(uri.rsplit("/", 1)[-1])}
    signers = {str(k["kid"]): ECKey.import_key(k) for k in issuer.keys.signing(now)}  # type: ignore[arg-type]

    def run(issued: Any) -> list[str]:
        trust = Trust(root_pem=keys.root_pem, status_lists=lists.get, issuer_keys=signers, issued=issued)
        result = check(
            token, dcql=dcql, nonce=NONCE, aud=AUD, now=now, trust=trust, site_id="s", gate_id="g", direction="in"
        )
        return [r["code"] for r in result.reasons]

    assert run(None) == []  # offline, with only the signature to go by
    wallet_key = ECKey.import_key(card["payload"]["cnf"]["jwk"]).thumbprint()
    genuine_row = Issued(str(card["claims"]["technician_id"]), wallet_key)
    assert run(lambda uri, index: genuine_row) == ["not_issued"]  # issued, but to another key
    assert run(lambda uri, index: None) == ["not_issued"]
