"""Validation of an authorization request, one for both places it arrives: the authorization
endpoint (``/authorize``) and the pushed authorization request endpoint (``/par``).

RFC 9126 §2.1: the authorization server "MUST validate the pushed request as it would an
authorization request sent to the authorization endpoint"; §4 lets it skip at ``/authorize`` what it
checked at ``/par``. So :meth:`AuthorizationRequests.validate` is the only place the parameters are
checked, ``/par`` stores the parameters it returns, and ``/authorize`` with that ``request_uri``
uses them as they were validated (:meth:`AuthorizationRequests.pushed`). The checks, in order:

1. the client must push when it registered ``require_pushed_authorization_requests`` (RFC 9126 §6);
   a pushed request carries no ``request_uri`` (RFC 9126 §2.1);
2. a request object (OIDC Core §6.1, RFC 9101 §4-§5: ``idp.oauth.request_objects``) replaces the
   parameters it carries; ``client_id`` and ``response_type`` must agree with the outer ones;
3. at ``/par``, a DPoP proof binds the code to its key and a ``dpop_jkt`` must name that key
   (RFC 9449 §10.1); a client attestation makes the client a holder's wallet for this request
   (HAIP 1.0 §4.3);
4. ``redirect_uri`` present and registered (RFC 6749 §3.1.2; OIDC Core §3.1.2.1: required). Errors
   up to here are never sent to the redirect URI of the request (RFC 6749 §4.1.2.1): only to the
   outer one, when registered, for the errors of steps 1-2;
5. everything else (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1, RFC 9396 §5), with errors
   that may be redirected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authlib.oauth2 import OAuth2Error

from common.errors import GenbaError
from idp.oauth import details, par
from idp.oauth.claims import parse_claims_param
from idp.oauth.clients import RegisteredClient
from idp.oauth.config import OFFERED_SCOPES
from idp.oauth.errors import safe_description
from idp.oauth.request_objects import decode_request_object, subject_from_id_token_hint
from idp.oauth.responses import RESPONSE_MODES
from idp.oauth.services import OAuthServices

PROMPTS = {"none", "login", "consent", "select_account"}


@dataclass(frozen=True)
class AuthorizationRequest:
    """A validated authorization request: the client as it authenticated (attested or not) and the
    parameters after any request object (internal ``__`` markers included)."""

    client: RegisteredClient
    params: dict[str, str]

    @property
    def redirect_uri(self) -> str:
        return self.params["redirect_uri"]


@dataclass(frozen=True)
class RequestRefused:
    """An authorization request that fails validation: the RFC 6749 §4.1.2.1 / §5.2 ``error`` and
    its description, and where it may be sent back (``redirect_uri``, with the request's
    ``state`` and ``response_mode``); ``redirect_uri`` is ``None`` when the client's redirect URI
    cannot be trusted, and the error is shown to the user (``/authorize``) or answered (``/par``)."""

    error: str
    description: str
    redirect_uri: str | None = None
    state: str | None = None
    response_mode: str | None = None


class _Refusal(GenbaError):
    """Raised inside the validation and returned as :class:`RequestRefused`, never beyond it."""

    status = 400

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description, code=error)


def pkce_problem(params: Mapping[str, str], client: RegisteredClient | None) -> str | None:
    """RFC 7636 §4.3 with RFC 9700 §2.1.1: S256 only, required of public clients. The description of
    the ``invalid_request`` to answer, or ``None``. Also what ``grants.S256Challenge`` applies."""
    challenge, method = params.get("code_challenge"), params.get("code_challenge_method")
    if not challenge:
        if client is not None and client.is_public:
            return "PKCE code_challenge is required for public clients"
        if method:
            return "code_challenge_method without code_challenge"
        return None
    if method != "S256":
        return "code_challenge_method must be S256"
    return None


class AuthorizationRequests:
    """Validates authorization requests for ``/authorize`` and ``/par`` (see the module docstring)."""

    def __init__(self, services: OAuthServices) -> None:
        self.svc = services
        self.details_handler = services.details

    def validate(
        self,
        client: RegisteredClient,
        params: Mapping[str, str],
        *,
        pushing: bool,
        dpop_jkt: str | None = None,
        attested_by: str | None = None,
    ) -> AuthorizationRequest | RequestRefused:
        """``pushing``: at ``/par``, where ``dpop_jkt`` is the key of the request's verified DPoP
        proof and ``attested_by`` the wallet provider whose attestation authenticated the client."""
        outer = par.without_internal(dict(params))  # only /par establishes what the ``__`` names carry
        try:
            merged = self._expand(client, outer, pushing=pushing)
        except _Refusal as refused:
            back = outer.get("redirect_uri")
            trusted = back if back and not pushing and client.check_redirect_uri(back) else None
            return _refused(refused, trusted, outer)
        if pushing:
            if dpop_jkt is not None:
                # after the request object is merged, so a dpop_jkt inside it cannot replace the proof's key
                if merged.get("dpop_jkt", dpop_jkt) != dpop_jkt:
                    return RequestRefused("invalid_dpop_proof", "dpop_jkt does not match the DPoP proof")
                merged["dpop_jkt"] = dpop_jkt  # RFC 9449 §10.1: bind the code to the proof's key
            merged["client_id"] = client.client_id
            if attested_by is not None:
                merged[par.ATTESTED_BY] = attested_by
        redirect_uri = merged.get("redirect_uri")
        if not redirect_uri:
            return RequestRefused("invalid_request", "redirect_uri is required")
        if not client.check_redirect_uri(redirect_uri):
            return RequestRefused("invalid_request", "redirect_uri is not registered for this client")
        client = par.as_pushed_by(client, merged)
        try:
            self._check(merged, client)
        except _Refusal as refused:
            return _refused(refused, None if pushing else redirect_uri, merged)
        return AuthorizationRequest(client, merged)

    def pushed(self, client: RegisteredClient, stored: Mapping[str, str]) -> AuthorizationRequest:
        """A request pushed to ``/par`` and taken once at ``/authorize`` (RFC 9126 §4): validated by
        :meth:`validate` when it was pushed, at most ``par_lifetime`` ago, so not checked again."""
        params = {**stored, "client_id": client.client_id, "__par": "1"}
        client = par.as_pushed_by(client, params)
        return AuthorizationRequest(client, params)

    def details(self, params: Mapping[str, str], client: RegisteredClient) -> list[dict[str, Any]]:
        """RFC 9396 §5: the normalised entries; unknown types or bad values raise ``DetailsError``."""
        return self.details_handler.validate(
            details.parse(params.get("authorization_details")), client, params.get("scope", "").split()
        )

    def hint_subject(self, params: Mapping[str, str], client: RegisteredClient) -> str | None:
        """The ``sub`` of the ``id_token_hint`` when it is an ID token we issued to this client."""
        return subject_from_id_token_hint(
            params["id_token_hint"], keys=self.svc.keys, issuer=self.svc.config.issuer, client_id=client.client_id
        )

    # -- the steps --------------------------------------------------------------------

    def _expand(self, client: RegisteredClient, params: dict[str, str], *, pushing: bool) -> dict[str, str]:
        """Steps 1-2: where the parameters come from."""
        if pushing and "request_uri" in params:
            raise _Refusal("invalid_request", "request_uri is not allowed in a pushed request")
        if not pushing and client.row.require_par:
            raise _Refusal("invalid_request", "this client must use pushed authorization requests (RFC 9126)")
        if "request" not in params:
            return params
        try:
            inner = decode_request_object(
                params["request"],
                client,
                issuer=self.svc.config.issuer,
                now=self.svc.clock().timestamp(),
                skew=self.svc.config.clock_skew.total_seconds(),
            )
        except OAuth2Error as exc:
            raise _Refusal(exc.error or "invalid_request_object", exc.description or "invalid request object") from None
        for name in ("client_id", "response_type"):
            outside = client.client_id if name == "client_id" else params.get(name)
            if name in inner and outside is not None and inner[name] != outside:
                raise _Refusal("invalid_request_object", f"{name} differs from the request object")
        merged = {k: v for k, v in params.items() if k != "request"}
        merged.update(inner)
        return par.without_internal(merged)

    def _check(self, params: dict[str, str], client: RegisteredClient) -> None:
        """Step 5."""
        for key, value in params.items():
            if len(value) > self.svc.config.max_param_length:
                raise _Refusal("invalid_request", f"parameter {safe_description(key)[:40]} is too long")
        response_type = params.get("response_type")
        if not response_type:
            raise _Refusal("invalid_request", "response_type is required")
        if response_type != "code":
            raise _Refusal("unsupported_response_type", "only response_type=code is supported")
        mode = params.get("response_mode")
        if mode is not None and mode not in RESPONSE_MODES:
            raise _Refusal("invalid_request", "response_mode must be query or form_post")
        prompts = set(params.get("prompt", "").split())
        if not prompts <= PROMPTS:
            raise _Refusal("invalid_request", "unknown prompt value")
        if "none" in prompts and len(prompts) > 1:
            raise _Refusal("invalid_request", "prompt=none cannot be combined with other values")
        if "max_age" in params and not (params["max_age"].isdigit() and len(params["max_age"]) < 10):
            raise _Refusal("invalid_request", "max_age must be a non-negative integer")
        try:
            parse_claims_param(params.get("claims"))
        except ValueError:
            raise _Refusal("invalid_request", "claims must be a JSON object") from None
        if "id_token_hint" in params and self.hint_subject(params, client) is None:
            raise _Refusal("invalid_request", "id_token_hint is not an ID token issued to this client")
        try:
            self.details(params, client)
        except details.DetailsError as exc:
            raise _Refusal("invalid_authorization_details", str(exc)) from None
        # what authlib's AuthorizationCodeGrant checks next (RFC 6749 §4.1.1, §3.3; RFC 7636 §4.3), in
        # its order, so /par refuses what /authorize would
        if not client.check_response_type(response_type):
            raise _Refusal("unauthorized_client", "this client is not registered for the authorization code grant")
        if not set(params.get("scope", "").split()) <= set(OFFERED_SCOPES):
            raise _Refusal("invalid_scope", "the requested scope is invalid, unknown, or malformed")
        problem = pkce_problem(params, client)
        if problem is not None:
            raise _Refusal("invalid_request", problem)


def _refused(refusal: _Refusal, redirect_uri: str | None, params: Mapping[str, str]) -> RequestRefused:
    return RequestRefused(
        refusal.error,
        refusal.description,
        redirect_uri,
        state=params.get("state"),
        response_mode=params.get("response_mode"),
    )
