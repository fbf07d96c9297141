"""The authorization endpoint (OIDC Core §3.1.2, RFC 6749 §4.1, RFC 9126 §4, RFC 9207).

The client, then the request: validated by ``idp.oauth.authz_request`` (the same validation as at
``/par``), or taken from ``/par`` as it was validated there. Errors before the redirect URI is
trusted are shown on a page and never redirected (RFC 6749 §4.1.2.1); later ones are sent back to
the client's redirect URI. Then login and consent; authlib issues the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from authlib.oauth2 import OAuth2Error
from sqlmodel import Session, col, select

from common.errors import GenbaError
from idp.models import Account, Interaction, OAuthGrant, OidcConsent, WebSession
from idp.oauth import details, par
from idp.oauth.authz_request import AuthorizationRequest, AuthorizationRequests, RequestRefused
from idp.oauth.claims import parse_claims_param, subject_for
from idp.oauth.clients import RegisteredClient, find_client
from idp.oauth.errors import safe_description
from idp.oauth.responses import RedirectBack, params_from_location, redirect_back
from idp.oauth.server import GenbaAuthorizationServer, GenbaRequest
from idp.oauth.services import OAuthServices
from idp.oauth.tokens import token_hash
from idp.runtime import token_urlsafe


@dataclass(frozen=True)
class ErrorPage:
    """Shown to the user; the client is unknown or its redirect URI cannot be trusted."""

    status: int
    error: str
    description: str


@dataclass(frozen=True)
class NeedLogin:
    interaction: str
    login_hint: str | None
    lang: str | None


@dataclass(frozen=True)
class NeedConsent:
    interaction: str
    client: RegisteredClient
    scopes: list[str]
    lang: str | None
    details: list[dict[str, Any]] = field(default_factory=list)


Outcome = ErrorPage | RedirectBack | NeedLogin | NeedConsent


class ClientError(GenbaError):
    """An error to send back to the client's redirect URI (RFC 6749 §4.1.2.1: ``error``,
    ``error_description`` as query parameters of a 302, never a page of ours)."""

    status = 400

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description, code=error)


@dataclass(frozen=True)
class Browser:
    """The signed-in user of this browser, if any."""

    account: Account
    session: WebSession


class AuthorizationEndpoint:
    def __init__(
        self,
        services: OAuthServices,
        server: GenbaAuthorizationServer,
        requests: AuthorizationRequests,
    ) -> None:
        self.svc = services
        self.server = server
        self.requests = requests
        self.details: details.DetailsHandler = requests.details_handler

    # -- entry points -----------------------------------------------------------------

    def start(self, db: Session, params: dict[str, str], user: Browser | None, headers: Any) -> Outcome:
        client = find_client(db, params.get("client_id"))
        if client is None:
            return ErrorPage(400, "invalid_client", "unknown client_id")
        if "request_uri" in params:
            validated = self._pushed(db, client, params)
        else:
            validated = self.requests.validate(client, params, pushing=False)
        if isinstance(validated, RequestRefused):
            return self._refused(validated)
        return self._decide(db, validated.client, validated.params, user, headers, login_after=None, consented=False)

    def resume(
        self,
        db: Session,
        interaction_id: str,
        user: Browser | None,
        headers: Any,
        *,
        consented: bool = False,
        denied: bool = False,
    ) -> Outcome:
        row = db.get(Interaction, token_hash(interaction_id)) if len(interaction_id) < 100 else None
        if row is None or row.expires_at <= self.svc.clock():
            return ErrorPage(400, "invalid_request", "this sign-in request has expired; start again from the app")
        client = find_client(db, row.client_id)
        if client is None:
            return ErrorPage(400, "invalid_client", "unknown client_id")
        params = dict(row.params)
        client = par.as_pushed_by(client, params)
        if denied:
            db.delete(row)
            return self._error_back(params, "access_denied", "the user denied the request")
        outcome = self._decide(
            db, client, params, user, headers, login_after=row.login_after, consented=consented, interaction=row
        )
        if isinstance(outcome, RedirectBack):
            db.delete(row)
        return outcome

    # -- pushed requests (RFC 9126 §4) -------------------------------------------------

    def _pushed(
        self, db: Session, client: RegisteredClient, params: dict[str, str]
    ) -> AuthorizationRequest | RequestRefused:
        """The request ``/par`` validated and stored (``idp.oauth.authz_request``), taken once."""
        uri = params.get("redirect_uri")

        def refused(error: str, description: str) -> RequestRefused:
            trusted = uri if uri and client.check_redirect_uri(uri) else None
            return RequestRefused(error, description, trusted, params.get("state"), params.get("response_mode"))

        if "request" in params:
            return refused("invalid_request", "request and request_uri are mutually exclusive")
        pushed = par.take(
            session=db, request_uri=params["request_uri"], client_id=client.client_id, clock=self.svc.clock
        )
        if pushed is None:
            if params["request_uri"].startswith(par.URN_PREFIX):
                return refused("invalid_request_uri", "request_uri is unknown, used or expired")
            return refused("request_uri_not_supported", "only pushed request_uri values are supported")
        return self.requests.pushed(client, pushed)

    def _details(self, params: dict[str, str], client: RegisteredClient) -> list[dict[str, Any]]:
        """RFC 9396 §5: unknown types or bad values are ``invalid_authorization_details``."""
        try:
            return self.requests.details(params, client)
        except details.DetailsError as exc:
            raise ClientError("invalid_authorization_details", str(exc)) from None

    # -- decision ---------------------------------------------------------------------

    def _decide(
        self,
        db: Session,
        client: RegisteredClient,
        params: dict[str, str],
        user: Browser | None,
        headers: Any,
        *,
        login_after: datetime | None,
        consented: bool,
        interaction: Interaction | None = None,
    ) -> Outcome:
        request = self._authlib_request(params, headers)
        try:
            grant = self.server.get_consent_grant(request, end_user=user.account if user else None)
        except OAuth2Error as exc:
            return self._error_back(params, exc.error or "invalid_request", exc.description or "")
        prompts = set(params.get("prompt", "").split())
        now = self.svc.clock()
        if self._needs_login(params, client, user, prompts, login_after, interaction is not None, now):
            if "none" in prompts:
                return self._error_back(params, "login_required", "the user must sign in")
            fresh = bool(prompts & {"login", "select_account"}) or "max_age" in params
            return NeedLogin(
                self._save(db, client, params, interaction, login_after=now if fresh else login_after),
                params.get("login_hint"),
                _lang(params),
            )
        assert user is not None
        scopes = (request.scope or "").split()
        try:
            wanted = self._details(params, client)
        except ClientError as exc:
            return self._error_back(params, exc.error, exc.description)
        if not consented and (wanted or self._needs_consent(db, user, client, scopes, prompts)):
            if "none" in prompts:
                return self._error_back(params, "consent_required", "the user must approve this client")
            return NeedConsent(
                self._save(db, client, params, interaction, login_after=login_after),
                client,
                scopes,
                _lang(params),
                wanted,
            )
        new_grant = self._new_grant(user, client, request.scope or "", params)
        if wanted:
            try:
                new_grant.authorization_details = self.details.grant(wanted, client, user.account)
            except details.DetailsError as exc:
                return self._error_back(params, "access_denied", str(exc))
        request.new_grant = new_grant  # what CodeGrant.save_authorization_code stores with the code
        response = self.server.create_authorization_response(request, grant_user=user.account, grant=grant)
        location = response.location or ""
        return redirect_back(
            params["redirect_uri"],
            [p for p in params_from_location(location) if p[0] not in ("state",)],
            issuer=self.svc.config.issuer,
            mode=params.get("response_mode"),
            state=params.get("state"),
        )

    def _needs_login(
        self,
        params: dict[str, str],
        client: RegisteredClient,
        user: Browser | None,
        prompts: set[str],
        login_after: datetime | None,
        resumed: bool,
        now: datetime,
    ) -> bool:
        if user is None or user.session.auth_time is None:
            return True
        auth_time = user.session.auth_time
        if login_after is not None and auth_time < login_after:
            return True
        if not resumed and prompts & {"login", "select_account"}:
            return True
        if (
            "max_age" in params
            and (now - auth_time).total_seconds() > int(params["max_age"])
            and (login_after is None or auth_time < login_after)
        ):
            return True
        if "id_token_hint" in params:
            hinted = self.requests.hint_subject(params, client)
            if hinted != subject_for(user.account, client, salt=self.svc.subject_salt):
                return True
        return False

    def _needs_consent(
        self, db: Session, user: Browser, client: RegisteredClient, scopes: list[str], prompts: set[str]
    ) -> bool:
        if "consent" in prompts:
            return True
        stmt = (
            select(OidcConsent)
            .where(col(OidcConsent.account_id) == user.account.id)
            .where(col(OidcConsent.client_id) == client.client_id)
        )
        remembered = db.exec(stmt).first()
        return remembered is None or not set(scopes) <= set(remembered.scopes)

    # -- helpers ----------------------------------------------------------------------

    def _authlib_request(self, params: dict[str, str], headers: Any) -> GenbaRequest:
        clean = {k: v for k, v in params.items() if not k.startswith("__")}
        return GenbaRequest("GET", self.svc.config.url("/authorize"), headers, clean, {})

    def _new_grant(self, user: Browser, client: RegisteredClient, scope: str, params: dict[str, str]) -> OAuthGrant:
        assert user.account.id is not None and user.session.auth_time is not None
        return OAuthGrant(
            grant_id=token_urlsafe(self.svc.rng, 24),
            client_id=client.client_id,
            account_id=user.account.id,
            scope=scope,
            sid=user.session.sid,
            auth_time=user.session.auth_time,
            acr=user.session.acr,
            amr=list(user.session.amr),
            claims=parse_claims_param(params.get("claims")) or {},
            dpop_jkt=params.get("dpop_jkt"),
            created_at=self.svc.clock(),
        )

    def _save(
        self,
        db: Session,
        client: RegisteredClient,
        params: dict[str, str],
        existing: Interaction | None,
        *,
        login_after: datetime | None,
    ) -> str:
        raw = token_urlsafe(self.svc.rng, 24)
        if existing is not None:
            db.delete(existing)
        now = self.svc.clock()
        db.add(
            Interaction(
                id_hash=token_hash(raw),
                client_id=client.client_id,
                params=params,
                login_after=login_after,
                created_at=now,
                expires_at=now + self.svc.config.interaction_lifetime,
            )
        )
        return raw

    def _refused(self, refused: RequestRefused) -> ErrorPage | RedirectBack:
        """RFC 6749 §4.1.2.1: back to the client only through a redirect URI that can be trusted."""
        if refused.redirect_uri is None:
            return ErrorPage(400, refused.error, refused.description)
        return redirect_back(
            refused.redirect_uri,
            [("error", refused.error), ("error_description", safe_description(refused.description))],
            issuer=self.svc.config.issuer,
            mode=refused.response_mode,
            state=refused.state,
        )

    def _error_back(self, params: dict[str, str], error: str, description: str) -> RedirectBack:
        return redirect_back(
            params["redirect_uri"],
            [("error", error), ("error_description", safe_description(description))],
            issuer=self.svc.config.issuer,
            mode=params.get("response_mode"),
            state=params.get("state"),
        )


def _lang(params: dict[str, str]) -> str | None:
    """``ui_locales`` (OIDC Core §3.1.2.1): the first of ja / en the client asked for."""
    for tag in params.get("ui_locales", "").split():
        base = tag.split("-")[0].lower()
        if base in ("ja", "en"):
            return base
    return None
