"""A small holder (wallet) library for tests, benchmarks and the gate's test tools (a client of the
server, never run by it): receive credentials through OpenID4VCI's pre-authorized code flow and
present them with key binding."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey

from wallet import sdjwt
from wallet.offers import PRE_AUTH_GRANT


@dataclass
class HeldCredential:
    sd_jwt: str
    key: ECKey
    claims: dict[str, Any] = field(default_factory=dict)

    def present(self, *, reveal: list[str], aud: str, nonce: str, iat: int) -> str:
        return sdjwt.present(self.sd_jwt, reveal=reveal, holder_key=self.key, aud=aud, nonce=nonce, iat=iat)


def receive(
    http: httpx.Client,
    offer_link: str,
    *,
    tx_code: str | None,
    now: int,
    batch: int = 1,
    configuration_id: str | None = None,
) -> list[HeldCredential]:
    """Follow an ``openid-credential-offer://`` link to credentials (one per fresh key)."""
    query = parse_qs(urlsplit(offer_link).query)
    offer = http.get(query["credential_offer_uri"][0]).raise_for_status().json()
    issuer = offer["credential_issuer"]
    metadata = http.get(f"{issuer}/.well-known/openid-credential-issuer").raise_for_status().json()
    code = offer["grants"][PRE_AUTH_GRANT]["pre-authorized_code"]
    form = {"grant_type": PRE_AUTH_GRANT, "pre-authorized_code": code, **({"tx_code": tx_code} if tx_code else {})}
    token = http.post(f"{issuer}/token", data=form).raise_for_status().json()
    held: list[HeldCredential] = []
    for detail in token.get("authorization_details", []):
        config = detail["credential_configuration_id"]
        if configuration_id and config != configuration_id:
            continue
        for identifier in detail.get("credential_identifiers", [config]):
            nonce = http.post(metadata["nonce_endpoint"]).raise_for_status().json()["c_nonce"]
            keys = [ECKey.generate_key("P-256") for _ in range(batch)]
            proofs = [
                jwt.encode(
                    {"typ": "openid4vci-proof+jwt", "alg": "ES256", "jwk": k.as_dict(private=False)},
                    {"aud": issuer, "iat": now, "nonce": nonce},
                    k,
                    algorithms=["ES256"],
                )
                for k in keys
            ]
            body = {"credential_identifier": identifier, "proofs": {"jwt": proofs}}
            response = http.post(
                metadata["credential_endpoint"], json=body, headers={"Authorization": f"Bearer {token['access_token']}"}
            ).raise_for_status()
            for key, item in zip(keys, response.json()["credentials"], strict=True):
                held.append(HeldCredential(item["credential"], key))
    return held
