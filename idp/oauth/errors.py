"""OAuth error classes that carry their wire code (RFC 6749 §5.2, RFC 9449 §7, RFC 9126 §2.3)."""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.base import invalid_error_characters
from authlib.oauth2.rfc6749.errors import (
    AccessDeniedError,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
    UnsupportedResponseTypeError,
)
from authlib.oidc.core.errors import (
    ConsentRequiredError,
    InvalidRequestObjectError,
    LoginRequiredError,
    RequestURINotSupportedError,
)


class InvalidDPoPProofError(OAuth2Error):
    error = "invalid_dpop_proof"


class UseDPoPNonceError(OAuth2Error):
    error = "use_dpop_nonce"


class InvalidRequestUriError(OAuth2Error):
    error = "invalid_request_uri"


class InvalidClientMetadataError(OAuth2Error):
    error = "invalid_client_metadata"


class InvalidRedirectUriError(OAuth2Error):
    error = "invalid_redirect_uri"


class InvalidTargetError(OAuth2Error):
    """RFC 8707 §2: the requested resource is invalid, unknown or not allowed for this grant."""

    error = "invalid_target"


def safe_description(text: str) -> str:
    """RFC 6749 §4.1.2.1 allows only %x20-21 / %x23-5B / %x5D-7E in descriptions; authlib raises
    ValueError otherwise, so anything echoing user input goes through here first."""
    bad = set(invalid_error_characters(text))
    return "".join("?" if ch in bad else ch for ch in text)[:300]


__all__ = [
    "AccessDeniedError",
    "ConsentRequiredError",
    "InvalidClientError",
    "InvalidClientMetadataError",
    "InvalidDPoPProofError",
    "InvalidGrantError",
    "InvalidRedirectUriError",
    "InvalidRequestError",
    "InvalidRequestObjectError",
    "InvalidRequestUriError",
    "InvalidScopeError",
    "InvalidTargetError",
    "LoginRequiredError",
    "OAuth2Error",
    "RequestURINotSupportedError",
    "UnauthorizedClientError",
    "UnsupportedResponseTypeError",
    "UseDPoPNonceError",
    "safe_description",
]
