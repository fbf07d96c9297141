"""What every fuzzed answer must be (issue 12, "Fuzzing in the test command"), and the values the
protocol targets of ``test_fuzz_protocol.py`` are generated from.

:data:`ERRORS` lists, for each protocol endpoint, the error codes its specifications define; a
:class:`Sent` request and :func:`problem` judge one answer; :class:`Failures` collects every target's
first failing example.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from hypothesis import strategies as st

PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code"

_TOKEN_ERRORS = {  # RFC 6749 §5.2, RFC 8707 §2, RFC 9396 §5, RFC 9449 §5, OpenID4VCI §6.3
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_target",
    "invalid_authorization_details",
    "invalid_dpop_proof",
    "use_dpop_nonce",
}
_AUTHORIZE_ERRORS = {  # RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6, RFC 9101 §6.3, RFC 9396 §5
    "invalid_request",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
    "interaction_required",
    "login_required",
    "account_selection_required",
    "consent_required",
    "invalid_request_uri",
    "invalid_request_object",
    "request_not_supported",
    "request_uri_not_supported",
    "registration_not_supported",
    "invalid_authorization_details",
}
_BEARER_ERRORS = {"invalid_request", "invalid_token", "insufficient_scope", "invalid_dpop_proof", "use_dpop_nonce"}
#: For each protocol endpoint, the error codes its specifications define for it.
ERRORS: dict[str, set[str]] = {
    "/token": _TOKEN_ERRORS,
    "/introspect": {"invalid_request", "invalid_client", "unauthorized_client"},  # RFC 7662 §2.3 (RFC 6749 §5.2)
    "/revoke": {"invalid_request", "invalid_client", "unauthorized_client", "unsupported_token_type"},  # RFC 7009
    "/par": _TOKEN_ERRORS | _AUTHORIZE_ERRORS,  # RFC 9126 §2.3
    "/authorize": _AUTHORIZE_ERRORS,
    "/register": {  # RFC 7591 §3.2.2, and RFC 6750 §3.1 for the initial access token
        "invalid_redirect_uri",
        "invalid_client_metadata",
        "invalid_software_statement",
        "unapproved_software_statement",
        *_BEARER_ERRORS,
    },
    "/userinfo": _BEARER_ERRORS,  # RFC 6750 §3.1, OIDC Core §5.3.3
    "/wallet/credential": {  # OpenID4VCI §8.3.1.2, and RFC 6750 §3.1 for the token
        "invalid_credential_request",
        "unknown_credential_configuration",
        "unknown_credential_identifier",
        "invalid_proof",
        "invalid_nonce",
        "invalid_encryption_parameters",
        "credential_request_denied",
        *_BEARER_ERRORS,
    },
    "/wallet/notification": {"invalid_notification_id", "invalid_notification_request", *_BEARER_ERRORS},  # §11.3
    "/wallet/nonce": {"invalid_request"},
}


# -- what every answer must be ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """One generated request, as the failure message shows it."""

    method: str
    path: str
    endpoint: str  # the protocol endpoint whose error codes apply, or "" (the data API, the pages)
    params: dict[str, str] | None = None
    form: dict[str, str] | None = None
    body: Any = None
    headers: dict[str, str] | None = None

    @property
    def presents_credentials(self) -> bool:
        headers = {name.lower(): value.strip() for name, value in (self.headers or {}).items()}
        return bool(headers.get("authorization")) or bool((self.form or {}).get("access_token"))

    def send(self, http: httpx.Client) -> httpx.Response:
        content = self.body if isinstance(self.body, bytes) else None if self.body is None else json.dumps(self.body)
        headers = {name: value.strip() for name, value in (self.headers or {}).items() if value.strip()}
        if content is not None:
            headers.setdefault("Content-Type", "application/json")
        return http.request(
            self.method, self.path, params=self.params, data=self.form, content=content, headers=headers
        )


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), str) else None


def problem(sent: Sent, response: httpx.Response) -> str | None:
    """Why ``response`` is wrong for ``sent``, or None."""
    status = response.status_code
    if status >= 500:
        return f"{status}: {response.text[:300]}"
    if not sent.endpoint:
        return None
    allowed = ERRORS[sent.endpoint]
    if response.is_redirect:
        location = urlsplit(response.headers.get("location", ""))
        if location.netloc and location.hostname != "localhost":  # back to the client (RFC 6749 §4.1.2.1)
            query = parse_qs(location.query) | parse_qs(location.fragment)
            codes = query.get("error", [])
            if codes and codes[0] not in allowed:
                return f"redirect with error={codes[0]!r}, not a code of {sent.endpoint}'s specifications"
        return None
    if 400 <= status < 500:
        if sent.endpoint == "/authorize" and response.headers.get("content-type", "").startswith("text/html"):
            return None  # RFC 6749 §4.1.2.1: no trusted redirect URI, so a page for the person, not the client
        code = _error_code(response)
        if code is None and status == 401:  # RFC 6750 §3: the error may be in WWW-Authenticate alone
            challenge = response.headers.get("www-authenticate", "")
            code = challenge.split('error="', 1)[1].split('"', 1)[0] if 'error="' in challenge else None
            if code is None and not sent.presents_credentials:
                return None  # RFC 6750 §3.1: no authentication information, no error code
        if code not in allowed:
            return (
                f"{status} with error {code!r}, not a code of {sent.endpoint}'s specifications: {response.text[:200]}"
            )
    return None


class Failures:
    """Every target's first failing example, reported together at the end."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def check(self, http: httpx.Client, sent: Sent) -> None:
        try:
            response = sent.send(http)
        except httpx.TransportError as exc:  # a 500 the server could not even finish
            raise AssertionError(f"{sent}\n  -> the connection failed: {exc!r}") from None
        wrong = problem(sent, response)
        if wrong is None:
            return
        raise AssertionError(f"{sent}\n  -> {wrong}")

    def run(self, name: str, test: Callable[[], None]) -> None:
        try:
            test()
        except ExceptionGroup as group:  # hypothesis found several distinct failures
            self.found += [f"[{name}] {exc}" for exc in group.exceptions]
        except AssertionError as exc:
            self.found.append(f"[{name}] {exc}")


# -- generated values --------------------------------------------------------------------------------

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
JUNK = st.one_of(
    TEXT,
    st.sampled_from(["", " ", "null", "[]", "{}", "%00", "a" * 3000, "https://a.example:99999/cb", "../../x"]),
    st.from_regex(r"\A[A-Za-z0-9_\-.~]{1,60}\Z"),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=8,
)
GRANTS = [
    "authorization_code",
    "refresh_token",
    "client_credentials",
    PRE_AUTH,
    "password",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
]


def header_safe(value: str) -> bool:
    """What an HTTP client can send as a header value (RFC 9110 §5.5: visible ASCII and spaces)."""
    return value.isascii() and value.isprintable()


def form_of(**fields: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, str]]:
    """Any subset of ``fields``, each a generated value."""
    return st.fixed_dictionaries({}, optional=fields)


def details() -> st.SearchStrategy[str]:
    """``authorization_details`` (RFC 9396): JSON, often nearly right (issue 12 item 8: a list as an id)."""
    entry = st.fixed_dictionaries(
        {"type": st.sampled_from(["openid_credential", "genba_technician_data"]) | TEXT},
        optional={
            "credential_configuration_id": JSON | st.sampled_from(["ccus_card"]),
            "groups": JSON,
            "purpose": JSON,
            "format": JSON,
        },
    )
    return st.one_of(st.lists(entry, max_size=3).map(json.dumps), JSON.map(json.dumps), JUNK)


AUTHORIZE_FIELDS = {
    "response_type": st.sampled_from(["code", "token", "id_token", "code id_token"]) | JUNK,
    "redirect_uri": st.sampled_from(["https://rp.example/cb"]) | JUNK,
    "scope": st.sampled_from(["openid", "openid profile", "openid_credential", "offline_access"]) | JUNK,
    "state": JUNK,
    "nonce": JUNK,
    "code_challenge": JUNK,
    "code_challenge_method": st.sampled_from(["S256", "plain"]) | JUNK,
    "prompt": st.sampled_from(["none", "login", "consent"]) | JUNK,
    "max_age": JUNK,
    "id_token_hint": JUNK,
    "login_hint": JUNK,
    "request": JUNK,
    "request_uri": JUNK,
    "response_mode": JUNK,
    "authorization_details": details(),
    "resource": JUNK,
    "claims": JSON.map(json.dumps) | JUNK,
    "ui_locales": JUNK,
}
