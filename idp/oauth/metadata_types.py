"""The JSON type of each client metadata member (RFC 7591 §2, OpenID Connect Dynamic Client
Registration 1.0 §2, OpenID Connect Back-Channel Logout §2.2, RFC 9126 §6, RFC 9449 §5.2), checked
before anything reads the metadata: a member of the wrong type is ``invalid_client_metadata``
(RFC 7591 §3.2.2), never a 500 further down (issue 12 item 8; ``{"redirect_uris": true}``,
``{"response_types": [null]}``, ``{"logo_uri": 1}`` were, found by fuzzing). Members this server
does not know are left alone (RFC 7591 §2: ignored). Written by hand: authlib validates the values
of the members it knows, not the JSON type of each.
"""

from __future__ import annotations

from typing import Any

STRINGS = frozenset(
    {
        "client_name",
        "client_uri",
        "logo_uri",
        "scope",
        "tos_uri",
        "policy_uri",
        "jwks_uri",
        "software_id",
        "software_version",
        "software_statement",
        "token_endpoint_auth_method",
        "token_endpoint_auth_signing_alg",
        "sector_identifier_uri",
        "subject_type",
        "id_token_signed_response_alg",
        "id_token_encrypted_response_alg",
        "id_token_encrypted_response_enc",
        "userinfo_signed_response_alg",
        "userinfo_encrypted_response_alg",
        "userinfo_encrypted_response_enc",
        "request_object_signing_alg",
        "request_object_encryption_alg",
        "request_object_encryption_enc",
        "initiate_login_uri",
        "backchannel_logout_uri",
        "frontchannel_logout_uri",
        "application_type",
    }
)
STRING_LISTS = frozenset(
    {
        "redirect_uris",
        "grant_types",
        "response_types",
        "contacts",
        "post_logout_redirect_uris",
        "request_uris",
        "default_acr_values",
    }
)
BOOLEANS = frozenset(
    {
        "require_auth_time",
        "backchannel_logout_session_required",
        "frontchannel_logout_session_required",
        "require_pushed_authorization_requests",
        "dpop_bound_access_tokens",
    }
)
OBJECTS = frozenset({"jwks"})


def type_problem(metadata: dict[str, Any]) -> str | None:
    """Why a member of ``metadata`` has the wrong JSON type, or None."""
    for name, value in metadata.items():
        if value is None:
            continue  # a member sent as null is a member not sent
        if name in STRINGS and not isinstance(value, str):
            return f"{name} must be a string"
        if name in STRING_LISTS and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            return f"{name} must be an array of strings"
        if name in BOOLEANS and not isinstance(value, bool):
            return f"{name} must be a boolean"
        if name in OBJECTS and not isinstance(value, dict):
            return f"{name} must be a JSON object"
        if name == "default_max_age" and (isinstance(value, bool) or not isinstance(value, int)):
            return "default_max_age must be a number of seconds"
    return None
