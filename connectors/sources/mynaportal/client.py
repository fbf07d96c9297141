"""HTTP client for the MyNaPortal-style source: the technician's OAuth 2.0 authorization code flow
with PKCE (S256), the certificates API, and the operators' bulk API (client credentials).

Against the real MyNaPortal, only this module would change (docs/architecture.md: one client per source).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from common import outbound
from connectors.ports import Page, SourceError
from connectors.sources.mynaportal.mapper import SOURCE


def pkce_pair() -> tuple[str, str]:
    """RFC 7636 §4.1-4.2: a 64-character verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class MyNaPortalClient:
    base_url: str
    client_id: str
    client_secret: str
    timeout: float = 10.0
    #: through the outbound policy (common/outbound.py, issue 12 hole 6): the application passes its
    #: own; the default refuses loopback and private addresses
    http: httpx.Client = field(default_factory=lambda: outbound.client(outbound.OutboundPolicy(timeout=10.0)))

    def authorization_url(self, *, redirect_uri: str, state: str, code_challenge: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": "certificates",
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        return f"{self.base_url.rstrip('/')}/authorize?{urlencode(query)}"

    def _token(self, form: dict[str, str]) -> str:
        try:
            response = self.http.post(
                f"{self.base_url.rstrip('/')}/token",
                data=form,
                auth=(self.client_id, self.client_secret),
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise SourceError(f"token request failed: {type(exc).__name__}") from None
        if response.status_code != 200:
            error = (
                response.json().get("error", "")
                if response.headers.get("content-type", "").startswith("application/json")
                else ""
            )
            raise SourceError(f"token request refused: HTTP {response.status_code} {error}".strip())
        token = response.json().get("access_token")
        if not isinstance(token, str):
            raise SourceError("token response without access_token")
        return token

    def exchange(self, *, code: str, verifier: str, redirect_uri: str) -> str:
        return self._token(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier}
        )

    def _get(self, path: str, token: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            response = self.http.get(
                f"{self.base_url.rstrip('/')}{path}",
                params=params,
                headers={"Authorization": f"Bearer {token}"},
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise SourceError(f"source request failed: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise SourceError(f"source answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise SourceError("source answered with invalid JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise SourceError("source answered without a records list")
        return body

    def my_records(self, access_token: str) -> list[str]:
        return [str(r) for r in self._get("/api/v1/me/certificates", access_token)["records"]]


@dataclass
class BulkSource:
    """Every record at the source, page by page (``genba connectors import mynaportal``)."""

    client: MyNaPortalClient
    limit: int = 500
    name: str = SOURCE
    _token: str | None = None

    def fetch(self, cursor: str | None) -> Page:
        """One page; an expired bulk token (HTTP 401) is renewed once and the page asked again."""
        params = {"limit": str(self.limit), **({"cursor": cursor} if cursor else {})}
        for attempt in (1, 2):
            if self._token is None:
                self._token = self.client._token({"grant_type": "client_credentials", "scope": "bulk"})
            try:
                body = self.client._get("/api/v1/records", self._token, params)
                break
            except SourceError as exc:
                if attempt == 1 and "HTTP 401" in str(exc):
                    self._token = None
                    continue
                raise
        nxt = body.get("next_cursor")
        return Page([str(r) for r in body["records"]], None if nxt is None else str(nxt))
