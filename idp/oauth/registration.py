"""Dynamic client registration (RFC 7591) and management (RFC 7592), behind an initial access token.

Metadata is validated by authlib's RFC 7591 and OIDC Registration claim classes, then by the
same rules as ``genba admin create-client`` (https redirect URIs except loopback, S256-only
public clients...). RFC 7592 read/update/delete use the registration access token.
authlib's ``ClientConfigurationEndpoint`` passes its arguments to ``revoke_access_token`` in the
wrong order (authlib 1.9, rfc7592/endpoint.py), so the three management operations are routed here.
"""

from __future__ import annotations

import hmac
from typing import Any

from authlib.oauth2.rfc7591 import ClientMetadataClaims as OAuthClientMetadata
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint
from authlib.oauth2.rfc7591.errors import InvalidClientMetadataError as AuthlibInvalidMetadata
from authlib.oidc.registration import ClientMetadataClaims as OidcClientMetadata
from sqlmodel import Session

from idp.models import OAuthClient
from idp.oauth.clients import PUBLIC_METHODS, create_client, sha256_hex
from idp.oauth.config import current_db
from idp.oauth.discovery import metadata
from idp.oauth.errors import InvalidClientMetadataError, InvalidRedirectUriError, OAuth2Error, safe_description
from idp.oauth.metadata_types import type_problem
from idp.oauth.services import OAuthServices
from idp.validation import FieldProblem

EXPOSED = (
    "client_name",
    "redirect_uris",
    "post_logout_redirect_uris",
    "grant_types",
    "token_endpoint_auth_method",
    "scope",
    "jwks",
    "subject_type",
    "backchannel_logout_uri",
    "backchannel_logout_session_required",
    "request_object_signing_alg",
    "require_pushed_authorization_requests",
    "dpop_bound_access_tokens",
)


class InvalidTokenError(OAuth2Error):
    error = "invalid_token"
    status_code = 401


def bearer(headers: Any) -> str | None:
    value = headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def client_metadata(row: OAuthClient) -> dict[str, Any]:
    data: dict[str, Any] = {
        "client_id": row.client_id,
        "client_name": row.client_name,
        "redirect_uris": row.redirect_uris,
        "post_logout_redirect_uris": row.post_logout_redirect_uris,
        "grant_types": row.grant_types,
        "response_types": ["code"] if "authorization_code" in row.grant_types else [],
        "token_endpoint_auth_method": row.token_endpoint_auth_method,
        "scope": row.scope,
        "subject_type": row.subject_type,
        "require_pushed_authorization_requests": row.require_par,
        "dpop_bound_access_tokens": row.require_dpop,
        "client_id_issued_at": int(row.created_at.timestamp()),
        "client_secret_expires_at": 0,
    }
    if row.id_token_signed_response_alg:
        data["id_token_signed_response_alg"] = row.id_token_signed_response_alg
    for name in ("jwks", "backchannel_logout_uri", "request_object_signing_alg", "sector_identifier"):
        if getattr(row, name):
            data[name] = getattr(row, name)
    if row.backchannel_logout_uri:
        data["backchannel_logout_session_required"] = row.backchannel_logout_session_required
    return data


class Registration(ClientRegistrationEndpoint):
    def __init__(self, server: Any, services: OAuthServices) -> None:
        super().__init__(server, claims_classes=[OAuthClientMetadata, OidcClientMetadata])
        self.svc = services

    def authenticate_token(self, request: Any) -> bool:
        expected = self.svc.config.registration_token_hash
        token = bearer(request.headers)
        return bool(expected and token and hmac.compare_digest(sha256_hex(token), expected))

    def get_server_metadata(self) -> dict[str, Any]:
        return metadata(self.svc.config, registration=True)

    def create_registration_response(self, request: Any) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """RFC 7591 §3.2.1: 201 with the metadata as registered, the secret and the RFC 7592 token."""
        if not self.authenticate_token(request):
            raise InvalidTokenError("a valid initial access token is required")
        body = request.payload.data
        if not isinstance(body, dict):
            raise InvalidClientMetadataError("the body must be a JSON object")
        check_metadata(body)
        try:
            self.extract_client_metadata(request)
        except AuthlibInvalidMetadata as exc:
            # RFC 7591 §3.2.2: a bad redirect URI has its own error code
            if "'redirect_uris'" in str(exc.description or ""):
                raise InvalidRedirectUriError("redirect_uris: not a valid absolute URI") from None
            raise InvalidClientMetadataError("client metadata is not valid") from None
        except (ValueError, TypeError, KeyError):
            # authlib's validators assume the members they read are well formed: ``"jwks": null`` reaches
            # joserfc as None["keys"] (found by tests/security/test_fuzz_protocol.py); RFC 7591 §3.2.2
            raise InvalidClientMetadataError("client metadata is not valid") from None
        new = save(self.svc, current_db(), body, update=None)
        data = client_metadata(new.client)
        if new.client_secret:
            data["client_secret"] = new.client_secret
        data["registration_access_token"] = new.registration_access_token
        data["registration_client_uri"] = self.svc.config.url(f"/register/{new.client.client_id}")
        return 201, data, [("Cache-Control", "no-store")]


#: client metadata that would make the provider fetch a URL; it fetches none of them (the outbound
#: policy, issue 12 hole 6, keeps that surface small): refused rather than silently ignored
FETCHED_BY_REFERENCE = {
    "jwks_uri": "jwks_uri is not supported: register the keys by value (jwks)",
    "sector_identifier_uri": "sector_identifier_uri is not supported: pairwise sectors come from the redirect URIs",
    "request_uris": "request_uris are not supported: send request objects by value or push them (RFC 9126)",
}


def check_metadata(body: dict[str, Any]) -> None:
    """Refuse what would make the provider fetch a URL, then members of the wrong JSON type
    (``idp.oauth.metadata_types``: never coerced, ``["x"]`` is not a name; issue 12 item 8). Called
    once per request, before anything reads the body: registration (RFC 7591) and update (RFC 7592)."""
    for name, reason in FETCHED_BY_REFERENCE.items():
        if body.get(name) not in (None, "", []):
            raise InvalidClientMetadataError(reason)
    problem = type_problem(body)
    if problem is not None:
        raise InvalidClientMetadataError(problem)


def save(svc: OAuthServices, db: Session, body: dict[str, Any], *, update: OAuthClient | None) -> Any:
    def listed(name: str) -> list[str]:
        value = body.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidClientMetadataError(f"{name} must be an array of strings")
        return value

    method = body.get("token_endpoint_auth_method", "client_secret_basic")
    response_types = listed("response_types") or ["code"]
    if response_types != ["code"]:
        raise InvalidClientMetadataError("only response_types [code] is supported")
    try:
        return create_client(
            session=db,
            client_name=str(body.get("client_name") or "unnamed client"),
            redirect_uris=listed("redirect_uris"),
            client_type="public" if method in PUBLIC_METHODS else "confidential",
            grant_types=listed("grant_types") or None,
            token_endpoint_auth_method=str(method),
            scope=body.get("scope") if isinstance(body.get("scope"), str) else None,
            jwks=body.get("jwks") if isinstance(body.get("jwks"), dict) else None,
            subject_type=str(body.get("subject_type", "public")),
            require_par=bool(body.get("require_pushed_authorization_requests", False)),
            require_dpop=bool(body.get("dpop_bound_access_tokens", False)),
            post_logout_redirect_uris=listed("post_logout_redirect_uris"),
            backchannel_logout_uri=body.get("backchannel_logout_uri") or None,
            backchannel_logout_session_required=bool(body.get("backchannel_logout_session_required", False)),
            request_object_signing_alg=body.get("request_object_signing_alg") or None,
            outbound=svc.config.outbound,
            # OIDC Registration §2: RS256 when the client does not say
            id_token_signed_response_alg=str(body.get("id_token_signed_response_alg") or "RS256"),
            with_registration_token=True,
            update=update,
            rng=svc.rng,
            now=svc.clock(),
        )
    except FieldProblem as problem:
        cls = (
            InvalidRedirectUriError if problem.field in ("redirect_uris", "logout_uri") else InvalidClientMetadataError
        )
        raise cls(safe_description(f"{problem.field}: {problem.en}")) from None


def managed_client(db: Session, client_id: str, headers: Any) -> OAuthClient:
    """RFC 7592 §2: the registration access token of exactly this client."""
    row = db.get(OAuthClient, client_id) if len(client_id) <= 64 else None
    token = bearer(headers)
    if (
        row is None
        or row.disabled
        or not row.registration_token_hash
        or not token
        or not hmac.compare_digest(sha256_hex(token), row.registration_token_hash)
    ):
        raise InvalidTokenError("the registration access token is not valid for this client")
    return row
