"""A wallet provider and a wallet instance for tests of attestation-based client authentication
(draft-ietf-oauth-attestation-based-client-auth §5.1, §6): real keys, real signatures."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey

ATTESTATION_TYP = "oauth-client-attestation+jwt"
POP_TYP = "oauth-client-attestation-pop+jwt"


@dataclass
class WalletProvider:
    """A wallet provider (client attester) with its own ES256 key."""

    issuer: str
    key: ECKey = field(default_factory=lambda: ECKey.generate_key("P-256", parameters={"kid": secrets.token_hex(4)}))

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    def trust_file(self, path: Path) -> Path:
        """The ``GENBA_WALLET_PROVIDERS`` file trusting this provider."""
        path.write_text(json.dumps({"providers": [{"issuer": self.issuer, "jwks": self.jwks()}]}))
        return path

    def attest(self, client_id: str, instance: ECKey, *, now: int, lifetime: int = 3600, **claims: Any) -> str:
        body = {"iss": self.issuer, "sub": client_id, "iat": now, "exp": now + lifetime}
        body["cnf"] = {"jwk": instance.as_dict(private=False)}
        body.update(claims)
        header = {"typ": ATTESTATION_TYP, "alg": "ES256", "kid": self.key.kid}
        return jwt.encode(header, body, self.key, algorithms=["ES256"])


def pop(instance: ECKey, *, client_id: str, audience: str, now: int, **claims: Any) -> str:
    """The attestation's proof of possession, signed by the wallet instance key."""
    body: dict[str, Any] = {"iss": client_id, "aud": audience, "jti": secrets.token_urlsafe(16), "iat": now}
    body.update(claims)
    return jwt.encode({"typ": POP_TYP, "alg": "ES256"}, body, instance, algorithms=["ES256"])


def headers(attestation: str, proof: str) -> dict[str, str]:
    return {"OAuth-Client-Attestation": attestation, "OAuth-Client-Attestation-PoP": proof}


#: the wallet provider the in-process conformance application trusts
TEST_PROVIDER = WalletProvider("https://wallet-provider.test.example")
