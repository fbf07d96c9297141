"""The reference source: a MyNaPortal-style API of a designated record-keeping body (指定保存交付機関).

A stand-in that runs as its own process (``genba source serve``). It publishes the training
bodies' keys, lets a person sign in (login + PIN, in place of a My Number card) and consent to
giving their signed completion records to Genba ID through the OAuth 2.0 authorization code flow
with PKCE, and lets the operator page through every record with a client-credentials token.
It imports nothing from the rest of the project.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from tools.reference_source.catalog import BODIES
from tools.reference_source.keys import CLIENT_ID, BodyKey, load_or_create_client_secret, load_or_create_keys
from tools.reference_source.oauth import (
    CHALLENGE,
    DEFAULT_REDIRECT_PREFIXES,
    TOKEN_TTL,
    AuthRequest,
    BrowserSession,
    OAuthError,
    OAuthState,
    redirect_uri_allowed,
)
from tools.reference_source.records import RecordStore, served_payload
from tools.reference_source.seed import FIXED_PEOPLE, bulk_records, fixed_records
from tools.reference_source.web import (
    NO_STORE,
    bearer_error,
    error_page,
    oauth_error,
    page,
    same_origin,
    with_params,
)

COOKIE = "refsrc_session"
MAX_LIMIT = 1000
DEFAULT_LIMIT = 500


@dataclass
class Source:
    """Everything one source process holds; ``app.state.source`` for tests and the CLI."""

    issuer: str
    keys: dict[str, BodyKey]
    client_secret: str
    store: RecordStore
    oauth: OAuthState
    fail_after: int | None
    bulk_calls: int = 0

    def bodies(self) -> list[dict[str, Any]]:
        return [
            {
                "body_id": body.body_id,
                "name": body.name,
                "courses": list(body.courses),  # what the body is registered to teach (issue 12 item 9)
                "keys": [self.keys[slot.slot].listing() for slot in body.keys],
            }
            for body in BODIES.values()
            if body.published
        ]

    def metadata(self) -> dict[str, Any]:
        base = self.issuer
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "scopes_supported": ["certificates", "bulk"],
            "authorization_response_iss_parameter_supported": True,
            "bodies_endpoint": f"{base}/api/v1/bodies",
            "certificates_endpoint": f"{base}/api/v1/me/certificates",
            "records_endpoint": f"{base}/api/v1/records",
        }


def create_source_app(
    data_dir: Path,
    *,
    issuer: str,
    fail_after: int | None = None,
    seed: int = 7,
    bulk: int = 0,
    redirect_uri_prefixes: Sequence[str] = DEFAULT_REDIRECT_PREFIXES,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """The source over ``data_dir`` (keys and client secret are created there on first start).

    The fixed people's records come first, then ``bulk`` generated records for ``people(seed, …)``.
    ``fail_after=N``: /api/v1/records answers 500 once it has answered N times successfully.
    """
    keys = load_or_create_keys(data_dir)
    secret = load_or_create_client_secret(data_dir)
    source = Source(
        issuer=issuer.rstrip("/"),
        keys=keys,
        client_secret=secret,
        store=RecordStore(fixed_records() + bulk_records(seed, bulk), keys),
        oauth=OAuthState(secret, redirect_uri_prefixes, clock),
        fail_after=fail_after,
    )
    app = FastAPI(title="Reference certificate source", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.source = source
    _discovery_routes(app, source)
    _authorize_route(app, source, secure_cookie=source.issuer.startswith("https://"))
    _sign_in_routes(app, source)
    _token_route(app, source)
    _api_routes(app, source)
    return app


def _discovery_routes(app: FastAPI, source: Source) -> None:
    """The home page, the authorization server metadata (RFC 8414) and the training bodies' keys."""

    @app.get("/", response_class=HTMLResponse)
    async def home() -> HTMLResponse:
        return page("home.html", issuer=source.issuer)

    @app.get("/.well-known/oauth-authorization-server")
    async def metadata() -> JSONResponse:
        return JSONResponse(source.metadata())

    @app.get("/api/v1/bodies")
    async def bodies() -> JSONResponse:
        return JSONResponse(source.bodies())


def _authorize_route(app: FastAPI, source: Source, *, secure_cookie: bool) -> None:
    """The authorization endpoint (RFC 6749 §4.1.1 with PKCE, RFC 7636): checks the request, then
    starts a browser session at the sign-in page."""

    @app.get("/authorize", response_model=None)
    async def authorize(request: Request) -> Response:
        q = request.query_params
        if any(len(q.getlist(name)) > 1 for name in q):
            return error_page("リクエストが正しくありません。", "a parameter was repeated")
        if q.get("client_id") != CLIENT_ID:
            return error_page("登録されていない連携先からの要求です。", "unknown client_id")
        redirect_uri = q.get("redirect_uri", "")
        if not redirect_uri_allowed(redirect_uri, source.oauth.prefixes):
            return error_page("戻り先のURLが登録されていません。", "redirect_uri not allowed")
        state = q.get("state", "")
        scope = q.get("scope") or "certificates"
        pending = AuthRequest(redirect_uri, state, q.get("code_challenge", ""), scope)
        problem: tuple[str, str] | None = None
        if q.get("response_type") != "code":
            problem = ("unsupported_response_type", "only response_type=code is supported")
        elif not state:
            problem = ("invalid_request", "state is required")
        elif q.get("code_challenge_method") != "S256" or not CHALLENGE.fullmatch(pending.code_challenge):
            problem = ("invalid_request", "PKCE is required: code_challenge with code_challenge_method=S256")
        elif scope.split() != ["certificates"]:
            problem = ("invalid_scope", "the only scope of this flow is certificates")
        if problem is not None:
            params = {"error": problem[0], "error_description": problem[1], "iss": source.issuer}
            if state:
                params["state"] = state
            return RedirectResponse(with_params(redirect_uri, params), status_code=303, headers=NO_STORE)
        session = source.oauth.new_session()
        session.request = pending
        response = page("login.html")
        response.set_cookie(COOKIE, session.sid, httponly=True, samesite="lax", secure=secure_cookie)
        return response


def _sign_in_routes(app: FastAPI, source: Source) -> None:
    """The person's sign-in (login + PIN) and consent, ending in the redirect back with a code."""

    def browser(request: Request) -> BrowserSession | None:
        return source.oauth.session(request.cookies.get(COOKIE))

    def finish(request: AuthRequest, params: dict[str, str]) -> RedirectResponse:
        params = {**params, "state": request.state, "iss": source.issuer}
        return RedirectResponse(with_params(request.redirect_uri, params), status_code=303, headers=NO_STORE)

    @app.post("/authorize/login", response_model=None)
    async def login(request: Request) -> Response:
        session = browser(request)
        if not same_origin(request):
            return error_page("不正な送信元です。", "cross-origin form", 403)
        if session is None or session.request is None:
            return error_page("セッションの有効期限が切れました。", "start again from the service you came from")
        form = await request.form()
        login_id, pin = str(form.get("login", "")).strip(), str(form.get("pin", ""))
        person = FIXED_PEOPLE.get(login_id)
        if person is None or not _pin_ok(pin, person.pin):
            return page("login.html", 401, error="ログインIDまたは暗証番号が正しくありません。", login=login_id)
        session.login = person.login
        return RedirectResponse("/authorize/consent", status_code=303, headers=NO_STORE)

    @app.get("/authorize/consent", response_model=None)
    async def consent_page(request: Request) -> Response:
        session = browser(request)
        if session is None or session.request is None or session.login is None:
            return error_page("セッションの有効期限が切れました。", "start again from the service you came from")
        person = FIXED_PEOPLE[session.login]
        specs = source.store.specs_for_login(person.login)
        courses = [f"{p['course_name']}（{p['training_body']}）" for p in map(served_payload, specs)]
        return page("consent.html", name=person.holder.name, count=len(specs), courses=courses)

    @app.post("/authorize/consent", response_model=None)
    async def consent(request: Request) -> Response:
        session = browser(request)
        if not same_origin(request):
            return error_page("不正な送信元です。", "cross-origin form", 403)
        if session is None or session.request is None or session.login is None:
            return error_page("セッションの有効期限が切れました。", "start again from the service you came from")
        decision = str((await request.form()).get("decision", ""))
        if decision not in ("approve", "deny"):
            return error_page("「提供する」か「提供しない」を選んでください。", "decision must be approve or deny")
        pending, login_id = session.request, session.login
        session.request, session.login = None, None  # one decision per sign-in
        if decision == "deny":
            return finish(pending, {"error": "access_denied", "error_description": "the person declined"})
        return finish(pending, {"code": source.oauth.issue_code(login_id, pending)})


def _token_route(app: FastAPI, source: Source) -> None:
    """The token endpoint: authorization code (with PKCE) for a person, client credentials for bulk."""

    @app.post("/token")
    async def token(request: Request) -> JSONResponse:
        try:
            source.oauth.authenticate_client(request.headers.get("authorization"))
            form = await request.form()
            if any(len(form.getlist(name)) > 1 for name in form):
                raise OAuthError("invalid_request", "a parameter was repeated")
            fields = {name: str(form.get(name, "")) for name in ("grant_type", "code", "redirect_uri", "scope")}
            if fields["grant_type"] == "authorization_code":
                if not fields["code"] or not fields["redirect_uri"]:
                    raise OAuthError("invalid_request", "code and redirect_uri are required")
                verifier = str(form.get("code_verifier", ""))
                if not verifier:
                    raise OAuthError("invalid_request", "code_verifier is required (PKCE)")
                value, issued = source.oauth.redeem_code(fields["code"], fields["redirect_uri"], verifier)
            elif fields["grant_type"] == "client_credentials":
                if (fields["scope"] or "bulk").split() != ["bulk"]:
                    raise OAuthError("invalid_scope", "client_credentials gives the bulk scope only")
                value, issued = source.oauth.issue_token("bulk")
            elif not fields["grant_type"]:
                raise OAuthError("invalid_request", "grant_type is required")
            else:
                raise OAuthError("unsupported_grant_type", f"{fields['grant_type']} is not supported")
        except OAuthError as exc:
            return oauth_error(exc)
        body = {"access_token": value, "token_type": "Bearer", "expires_in": TOKEN_TTL, "scope": issued.scope}
        return JSONResponse(body, headers=NO_STORE)


def _api_routes(app: FastAPI, source: Source) -> None:
    """The resource endpoints: a person's own records, and every record page by page (bulk)."""

    def bearer(request: Request, scope: str) -> JSONResponse | str | None:
        """The token's login (None for a client token), or the error response."""
        header = request.headers.get("authorization", "")
        if header[:7].lower() != "bearer ":
            return bearer_error(401, None, "a Bearer token is required")
        issued = source.oauth.bearer(header[7:].strip())
        if issued is None:
            return bearer_error(401, "invalid_token", "the access token is unknown or expired")
        if scope not in issued.scope.split():
            return bearer_error(403, "insufficient_scope", f"this needs the {scope} scope")
        return issued.login

    @app.get("/api/v1/me/certificates")
    async def my_certificates(request: Request) -> JSONResponse:
        who = bearer(request, "certificates")
        if isinstance(who, JSONResponse):
            return who
        if who is None:
            return bearer_error(403, "insufficient_scope", "this needs a person's token")
        return JSONResponse({"records": source.store.for_login(who)}, headers=NO_STORE)

    @app.get("/api/v1/records")
    async def records(request: Request) -> JSONResponse:
        if source.fail_after is not None and source.bulk_calls >= source.fail_after:
            return JSONResponse({"error": "server_error", "error_description": "the source is failing"}, 500)
        denied = bearer(request, "bulk")
        if isinstance(denied, JSONResponse):
            return denied
        cursor, limit = _int(request, "cursor", 0), _int(request, "limit", DEFAULT_LIMIT)
        if cursor is None or limit is None or cursor < 0 or not 1 <= limit <= MAX_LIMIT:
            problem = f"cursor must be an integer >= 0 and limit 1..{MAX_LIMIT}"
            return JSONResponse({"error": "invalid_request", "error_description": problem}, 400)
        items, next_cursor = source.store.page(cursor, limit)
        source.bulk_calls += 1
        return JSONResponse({"records": items, "next_cursor": next_cursor}, headers=NO_STORE)


def _pin_ok(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _int(request: Request, name: str, default: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 12 else None
