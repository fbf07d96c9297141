"""A small Starlette integration for authlib's ``AuthorizationServer`` (authlib ships none).

Routes read and check the body themselves (strict UTF-8, no duplicated parameters), build a
:class:`GenbaRequest`, and call the synchronous authlib server in a worker thread with the
request's database session bound (``idp.oauth.config.bound_session``). ``handle_response``
returns a plain :class:`AuthlibResponse`, which the route turns into a Starlette response,
so protocol post-processing (``iss``, ``response_mode``) happens in one place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749.requests import JsonPayload, JsonRequest, OAuth2Payload
from starlette.responses import JSONResponse, Response

from idp.models import Account, OAuthGrant
from idp.oauth.attestation import Attested
from idp.oauth.clients import RegisteredClient, find_client
from idp.oauth.config import OFFERED_SCOPES, current_db
from idp.oauth.dpop import DPoPProof
from idp.oauth.services import OAuthServices


class ParamsPayload(OAuth2Payload):
    """authlib payload over already-validated single-valued parameters."""

    def __init__(self, data: dict[str, str]) -> None:
        self._data = data

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:  # type: ignore[override]
        return {k: [v] for k, v in self._data.items()}


class GenbaRequest(OAuth2Request):
    """An ``OAuth2Request`` whose ``args`` are the query and ``form`` the POST body, with the few
    things Genba ID establishes about a request beside authlib's own, each declared and typed here:
    nothing else is set on a request."""

    #: the request's DPoP proof, verified by the route before authlib runs (RFC 9449 §4.3)
    dpop: DPoPProof | None
    #: the client attestation that authenticated the client (``attest_auth.AttestJwtClientAuth``;
    #: draft-ietf-oauth-attestation-based-client-auth §5)
    client_attestation: Attested | None
    #: the grant the authorization endpoint issues a code for (``grants.CodeGrant.save_authorization_code``)
    new_grant: OAuthGrant | None
    #: authlib's own (``OAuth2Request.__init__``, set by its client authentication), typed here
    auth_method: str | None

    def __init__(self, method: str, uri: str, headers: Any, query: dict[str, str], form: dict[str, str]) -> None:
        super().__init__(method, uri, headers=headers)
        self._query = query
        self._form = form
        self.payload = ParamsPayload({**query, **form})
        self.dpop = None
        self.client_attestation = None
        self.new_grant = None

    @property
    def args(self) -> dict[str, str]:
        return self._query

    @property
    def form(self) -> dict[str, str]:
        return self._form

    def replace_params(self, params: dict[str, str]) -> None:
        """Use parameters from a pushed request or request object instead of the URL's."""
        self.payload = ParamsPayload(params)


class GenbaJsonRequest(JsonRequest):
    def __init__(self, method: str, uri: str, headers: Any, body: dict[str, Any]) -> None:
        super().__init__(method, uri, headers=headers)
        self.payload = _JsonBody(body)


class _JsonBody(JsonPayload):
    def __init__(self, body: dict[str, Any]) -> None:
        self._body = body

    @property
    def data(self) -> dict[str, Any]:
        return self._body


@dataclass
class AuthlibResponse:
    status: int
    body: Any
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def location(self) -> str | None:
        return next((v for k, v in self.headers if k.lower() == "location"), None)

    def to_starlette(self) -> Response:
        headers = {k: v for k, v in self.headers if k.lower() != "content-type"}
        headers.setdefault("Cache-Control", "no-store")
        if isinstance(self.body, dict):
            return JSONResponse(self.body, status_code=self.status, headers=headers)
        if isinstance(self.body, str) and self.body:
            return Response(self.body, status_code=self.status, headers=headers, media_type="text/html")
        return Response(status_code=self.status, headers=headers)


class TokenResponse(dict[str, Any]):
    """The token response dict authlib passes around and logs with ``%r`` (``Issue token %r``);
    this repr never shows values, however late a handler formats the record."""

    def __repr__(self) -> str:
        return f"<token response: {', '.join(sorted(self))}>"

    __str__ = __repr__


class TokenMinter(Protocol):
    """What mints the token response when a grant asks for it (``issuance.Issuer.mint``)."""

    def mint(
        self, request: GenbaRequest, *, user: Account | None, scope: str | None, include_refresh_token: bool
    ) -> TokenResponse: ...


class GenbaAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """authlib's server with the provider's collaborators, given when it is built.

    No token generator is registered: each of our grants mints real tokens where authlib asks for
    them (``grants.MintsTokens.generate_token``, which has the request: grant, DPoP key, client
    authentication), and stores them as it mints, so authlib's ``save_token`` has nothing left to do.
    """

    def __init__(self, services: OAuthServices, minter: TokenMinter) -> None:
        super().__init__(scopes_supported=list(OFFERED_SCOPES))
        self.services = services
        self.minter = minter

    def query_client(self, client_id: str) -> RegisteredClient | None:
        # RFC 6749 Appendix A.1: client-id = *VSCHAR (%x20-7E); anything else (a NUL from a Basic
        # header, which PostgreSQL cannot even compare) names no client
        if not isinstance(client_id, str) or not (client_id.isascii() and client_id.isprintable()):
            return None
        return find_client(current_db(), client_id, self.services.caches)

    def save_token(self, token: dict[str, Any], request: GenbaRequest) -> None:
        """Nothing to do: the refresh token was stored in the request's transaction as it was minted."""

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        assert isinstance(request, OAuth2Request)
        return request

    def create_json_request(self, request: Any) -> JsonRequest:
        assert isinstance(request, JsonRequest)
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> AuthlibResponse:
        return AuthlibResponse(status, body, list(headers or []))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """authlib calls this after client authentication and revocation; nothing listens."""


def json_error(error: str, description: str, status: int = 400, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps({"error": error, "error_description": description})
    return Response(
        body,
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store", **(headers or {})},
    )
