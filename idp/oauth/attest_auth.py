"""``attest_jwt_client_auth`` as an authlib client authentication method (registered like
``private_key_jwt``: ``AuthorizationServer.register_client_auth_method``), for /par, /token and
/revoke (draft-ietf-oauth-attestation-based-client-auth §5, §13.2; HAIP 1.0 §4.3).

Without the two headers the method does not apply and authlib tries the next one; with them, an
attestation that does not verify is ``invalid_client`` at once, never a quiet fall-back to ``none``.
Only a client registered with ``attest_jwt_client_auth`` may present one, and it must every time
(``RegisteredClient.check_endpoint_auth_method``); anyone else's attestation headers are
``invalid_client``: an ordinary public client cannot become a holder's wallet (deny by default).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from idp.oauth.attestation import (
    ATTESTATION_HEADER,
    POP_HEADER,
    AttestationError,
    AttestationVerifier,
    attested_subject,
)
from idp.oauth.clients import ATTEST as ATTEST_METHOD
from idp.oauth.clients import RegisteredClient
from idp.oauth.config import current_db
from idp.oauth.errors import InvalidClientError
from idp.oauth.server import GenbaRequest


def _one_header(headers: Any, name: str) -> str | None:
    values = headers.getlist(name) if hasattr(headers, "getlist") else [headers.get(name)]
    values = [v for v in values if v is not None]
    if len(values) > 1:
        raise InvalidClientError(description=f"{name} must be sent once")
    return values[0].strip() if values else None


class AttestJwtClientAuth:
    def __init__(self, verifier: AttestationVerifier) -> None:
        self.verifier = verifier

    def __call__(self, query_client: Any, request: GenbaRequest) -> RegisteredClient | None:
        attestation = _one_header(request.headers, ATTESTATION_HEADER)
        pop = _one_header(request.headers, POP_HEADER)
        if attestation is None and pop is None:
            return None
        if not attestation or not pop:
            raise InvalidClientError(description=f"{ATTESTATION_HEADER} and {POP_HEADER} go together")
        try:
            given = request.payload.data.get("client_id")
            client_id = given if isinstance(given, str) and given else attested_subject(attestation)
            client: RegisteredClient | None = query_client(client_id) if client_id else None
            if client is None:
                raise AttestationError("unknown client_id")
            if client.row.token_endpoint_auth_method != ATTEST_METHOD:
                # deny by default: only a client registered to attest is a wallet by attestation; the
                # headers are refused rather than ignored, so the client learns it (issue 12 hole 3)
                raise AttestationError("this client is not registered for attest_jwt_client_auth")
            session: Session = current_db()
            request.client_attestation = self.verifier.verify(
                session, attestation=attestation, pop=pop, client_id=client.client_id
            )
        except AttestationError as exc:
            raise InvalidClientError(description=str(exc)) from None
        return client
