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
from typing import Any

from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749.requests import JsonPayload, JsonRequest, OAuth2Payload
from starlette.responses import JSONResponse, Response

from idp.oauth.clients import RegisteredClient, find_client
from idp.oauth.config import OFFERED_SCOPES, current_db
from idp.oauth.dpop import DPoPProof


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
    """An ``OAuth2Request`` whose ``args`` are the query and ``form`` the POST body."""

    def __init__(self, method: str, uri: str, headers: Any, query: dict[str, str], form: dict[str, str]) -> None:
        super().__init__(method, uri, headers=headers)
        self._query = query
        self._form = form
        self.payload = ParamsPayload({**query, **form})
        self.dpop: DPoPProof | None = None
        self.interaction: Any = None

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


class GenbaAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, save_token: Any) -> None:
        super().__init__(scopes_supported=list(OFFERED_SCOPES))
        self._save_token = save_token
        self.register_token_generator("default", pending_token)

    def query_client(self, client_id: str) -> RegisteredClient | None:
        # RFC 6749 Appendix A.1: client-id = *VSCHAR (%x20-7E); anything else (a NUL from a Basic
        # header, which PostgreSQL cannot even compare) names no client
        if not isinstance(client_id, str) or not (client_id.isascii() and client_id.isprintable()):
            return None
        return find_client(current_db(), client_id, self.services.caches)

    def save_token(self, token: dict[str, Any], request: GenbaRequest) -> None:
        self._save_token(token, request)

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


PENDING = "pending"


class TokenResponse(dict[str, Any]):
    """The token response dict authlib passes around. authlib logs it with ``%r`` before the real
    tokens are put in; this repr never shows values, however late a handler formats the record."""

    def __repr__(self) -> str:
        return f"<token response: {', '.join(sorted(self))}>"

    __str__ = __repr__


def pending_token(
    grant_type: str,
    client: RegisteredClient,
    user: Any = None,
    scope: str | None = None,
    expires_in: int | None = None,
    include_refresh_token: bool = True,
) -> dict[str, Any]:
    """authlib's token generator hook. The real tokens are minted in ``save_token``, where the grant,
    the DPoP key and the subject are known; this only says what the response will contain."""
    token: dict[str, Any] = TokenResponse(token_type="Bearer", access_token=PENDING, scope=scope or "")  # noqa: S106
    if include_refresh_token:
        token["refresh_token"] = PENDING
    return token


def json_error(error: str, description: str, status: int = 400, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps({"error": error, "error_description": description})
    return Response(
        body,
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store", **(headers or {})},
    )
