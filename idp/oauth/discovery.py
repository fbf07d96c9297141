"""Provider metadata (OIDC Discovery 1.0 §3, RFC 8414 §2): only what is really supported."""

from __future__ import annotations

from typing import Any

from idp.oauth.attestation import ALGS as ATTESTATION_ALGS
from idp.oauth.claims import SUPPORTED_CLAIMS
from idp.oauth.clients import AUTH_METHODS, JWT_ALGS, PUBLIC_METHODS
from idp.oauth.config import OFFERED_SCOPES, OAuthConfig
from idp.oauth.dpop import ALGS as DPOP_ALGS
from idp.oauth.keys import SUPPORTED_ALGS
from idp.oauth.responses import RESPONSE_MODES
from idp.sessions import ACR_AAL2, ACR_AAL3


def metadata(config: OAuthConfig, *, registration: bool) -> dict[str, Any]:
    url = config.url
    data: dict[str, Any] = {
        "issuer": config.issuer,
        "authorization_endpoint": url("/authorize"),
        "token_endpoint": url("/token"),
        "userinfo_endpoint": url("/userinfo"),
        "jwks_uri": url("/jwks"),
        "pushed_authorization_request_endpoint": url("/par"),
        "revocation_endpoint": url("/revoke"),
        "introspection_endpoint": url("/introspect"),
        "end_session_endpoint": url("/session/end"),
        "scopes_supported": list(OFFERED_SCOPES),
        "authorization_details_types_supported": ["genba_technician_data"],
        "response_types_supported": ["code"],
        "response_modes_supported": list(RESPONSE_MODES),
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "acr_values_supported": [ACR_AAL2, ACR_AAL3],
        "subject_types_supported": ["public", "pairwise"],
        # the provider default first; clients may register any of the others (RS256 included, §3)
        "id_token_signing_alg_values_supported": [config.signing_alg]
        + [a for a in SUPPORTED_ALGS if a != config.signing_alg],
        "request_object_signing_alg_values_supported": list(JWT_ALGS),
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": list(JWT_ALGS),
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "revocation_endpoint_auth_signing_alg_values_supported": list(JWT_ALGS),  # RFC 8414 §2: MUST with *_jwt
        "introspection_endpoint_auth_methods_supported": [m for m in AUTH_METHODS if m not in PUBLIC_METHODS],
        "introspection_endpoint_auth_signing_alg_values_supported": list(JWT_ALGS),
        # draft-ietf-oauth-attestation-based-client-auth §10.1 (HAIP 1.0 §4.3): the algorithms accepted
        # for the attestation (signed by the wallet provider) and its proof of possession
        "client_attestation_signing_alg_values_supported": list(ATTESTATION_ALGS),
        "client_attestation_pop_signing_alg_values_supported": list(ATTESTATION_ALGS),
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": list(SUPPORTED_CLAIMS),
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": True,
        "request_parameter_supported": True,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": True,
        "require_pushed_authorization_requests": False,
        "authorization_response_iss_parameter_supported": True,
        "dpop_signing_alg_values_supported": list(DPOP_ALGS),
        "ui_locales_supported": ["ja", "en"],
        "claims_locales_supported": ["ja", "ja-Kana-JP"],
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": False,
        "service_documentation": url("/"),
        "access_token_signing_alg_values_supported": list(SUPPORTED_ALGS),
    }
    if registration:
        data["registration_endpoint"] = url("/register")
    return data
