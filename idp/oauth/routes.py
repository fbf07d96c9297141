"""HTTP endpoints of the OpenID provider that browsers do not see: token, PAR, revocation,
introspection, userinfo, JWKS and discovery."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from common.messages import message
from idp.oauth import par
from idp.oauth.authz_request import RequestRefused
from idp.oauth.claims import account_claims, release, requested_claim_names, subject_for
from idp.oauth.clients import ATTEST, AUTH_METHODS, RegisteredClient, find_client_and_account
from idp.oauth.config import bound_session
from idp.oauth.dpop import DPoPError
from idp.oauth.errors import OAuth2Error
from idp.oauth.http import form_params
from idp.oauth.resource import challenge, presented_token, verify_presented
from idp.oauth.runtime import OAuthDep, OAuthRuntime
from idp.oauth.server import AuthlibResponse, GenbaRequest, json_error
from idp.oauth.tokens import Resource, TokenKind

router = APIRouter()
CLIENT_AUTH_PARAMS = ("client_secret", "client_assertion", "client_assertion_type")


def _run_endpoint(oauth: OAuthRuntime, request: Request, form: dict[str, str], work: Any) -> Response:
    """Run ``work(db, genba_request)`` with the session bound; commit only what succeeded."""
    svc = oauth.services
    with Session(svc.engine, expire_on_commit=False) as db, bound_session(db):
        req = GenbaRequest("POST", svc.config.url(request.url.path), request.headers, {}, form)
        dpop_headers = request.headers.getlist("dpop")
        if dpop_headers:
            try:
                req.dpop = svc.dpop.verify(
                    db, dpop_headers, method="POST", url=svc.config.url(request.url.path), now=svc.clock()
                )
            except DPoPError:
                # RFC 9449 §5: 400 at the token endpoint (with a fresh nonce for use_dpop_nonce),
                # rendered by the application's protocol renderer
                db.commit()  # the proof's jti stays spent
                raise
            db.commit()
        result = work(db, req)
        if isinstance(result, AuthlibResponse):
            if result.status < 400:
                db.commit()
            else:
                db.rollback()
            response = result.to_starlette()
        else:
            db.commit()
            response = result
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
        return response


def token_answer(oauth: OAuthRuntime, request: Request, form: dict[str, str]) -> Response:
    """RFC 6749 §3.2 token endpoint (authorization_code, refresh_token, client_credentials) once the
    body is read: shared by the route below and the protocol front (idp/oauth/front.py)."""
    return _run_endpoint(oauth, request, form, lambda db, req: oauth.server.create_token_response(req))


@router.post("/token")
async def token(request: Request, oauth: OAuthDep) -> Response:
    """RFC 6749 §3.2 token endpoint (authorization_code, refresh_token, client_credentials)."""
    form = await form_params(request)  # ProtocolError: RFC 6749 §5.2, rendered by the application
    return await run_in_threadpool(token_answer, oauth, request, form)


@router.post("/revoke")
async def revoke(request: Request, oauth: OAuthDep) -> Response:
    """RFC 7009 token revocation."""
    form = await form_params(request)  # ProtocolError: RFC 6749 §5.2, rendered by the application
    return await run_in_threadpool(
        _run_endpoint, oauth, request, form, lambda db, req: oauth.server.create_endpoint_response("revocation", req)
    )


def introspection_answer(oauth: OAuthRuntime, request: Request, form: dict[str, str]) -> Response:
    """RFC 7662 token introspection (client-authenticated) once the body is read: shared by the
    route below and the protocol front (idp/oauth/front.py)."""
    return _run_endpoint(
        oauth, request, form, lambda db, req: oauth.server.create_endpoint_response("introspection", req)
    )


@router.post("/introspect")
async def introspect(request: Request, oauth: OAuthDep) -> Response:
    """RFC 7662 token introspection (client-authenticated)."""
    form = await form_params(request)  # ProtocolError: RFC 6749 §5.2, rendered by the application
    return await run_in_threadpool(introspection_answer, oauth, request, form)


@router.post("/par")
async def pushed_authorization_request(request: Request, oauth: OAuthDep) -> Response:
    """RFC 9126 §2: authenticate the client, validate the request as ``/authorize`` would
    (``idp.oauth.authz_request``), store what was validated, return ``request_uri`` (201)."""
    form = await form_params(request)  # ProtocolError: RFC 6749 §5.2, rendered by the application

    def work(db: Session, req: GenbaRequest) -> Response:
        try:
            client: RegisteredClient = oauth.server.authenticate_client(req, list(AUTH_METHODS), "par")
        except OAuth2Error as exc:
            status, body, headers = exc()
            return JSONResponse(dict(body), status_code=status, headers=dict(headers))
        params = {k: v for k, v in form.items() if k not in CLIENT_AUTH_PARAMS}
        validated = oauth.requests.validate(
            client,
            params,
            pushing=True,
            dpop_jkt=req.dpop.jkt if req.dpop is not None else None,
            # a push authenticated by a trusted wallet provider's attestation: the authorization
            # request it stands for comes from a holder's wallet (issue 12; HAIP 1.0 §4.3)
            attested_by=req.client_attestation.provider
            if req.auth_method == ATTEST and req.client_attestation is not None
            else None,
        )
        if isinstance(validated, RequestRefused):
            return json_error(validated.error, validated.description)
        uri, expires_in = par.push(
            session=db,
            config=oauth.services.config,
            client_id=client.client_id,
            params=validated.params,
            clock=oauth.services.clock,
            rng=oauth.services.rng,
        )
        return JSONResponse({"request_uri": uri, "expires_in": expires_in}, status_code=201)

    return await run_in_threadpool(_run_endpoint, oauth, request, form, work)


def userinfo_answer(oauth: OAuthRuntime, request: Request, value: str, scheme: str) -> Response:
    """OIDC Core §5.3 userinfo once the token is read (``presented_token``): shared by the route
    below and the protocol front (idp/oauth/front.py)."""
    svc = oauth.services
    extra = oauth.extensions.userinfo_claims  # technician claims under the consent engine, when wired
    with Session(svc.engine, expire_on_commit=False) as db:
        claims = verify_presented(svc, db, request, value, scheme, resource=Resource.userinfo, kinds=(TokenKind.user,))
        if "openid" not in claims.scope.split():
            raise challenge("insufficient_scope", message("token.no_openid"))
        grant = claims.grant  # read while checking the token; client and account in one round trip
        found = find_client_and_account(db, claims.client_id, grant.account_id, svc.caches) if grant else None
        if grant is None or found is None or found[1].disabled:
            raise challenge("invalid_token", message("token.invalid"))
        client, account = found
        body: dict[str, Any] = {"sub": subject_for(account, client, salt=svc.subject_salt)}
        body.update(
            release(
                account_claims(db, account),
                scope=claims.scope,
                extra=requested_claim_names(grant.claims, "userinfo"),
            )
        )
        if extra is not None:
            body.update(extra(db, claims))
        return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.api_route("/userinfo", methods=["GET", "POST"])
async def userinfo(request: Request, oauth: OAuthDep) -> Response:
    """OIDC Core §5.3 userinfo, with Bearer (RFC 6750) or DPoP-bound (RFC 9449 §7) tokens."""
    value, scheme = await presented_token(request, allow_body=True)  # TokenRefused: RFC 6750 §3.1
    return await run_in_threadpool(userinfo_answer, oauth, request, value, scheme)


def jwks_answer(oauth: OAuthRuntime) -> Response:
    """RFC 7517 JWK Set; cached briefly so a key published by rotation is seen well before it signs.
    The bytes are rendered once per change of the published set (``KeyStore.jwks_json``)."""
    return Response(
        oauth.services.keys.jwks_json(),
        media_type="application/json",
        headers={"Cache-Control": "public, max-age=300"},
    )


@router.get("/jwks")
def jwks(oauth: OAuthDep) -> Response:
    """RFC 7517 JWK Set (:func:`jwks_answer`)."""
    return jwks_answer(oauth)


def discovery_answer(oauth: OAuthRuntime) -> Response:
    """OIDC Discovery 1.0 §4: the metadata document, rendered once per application (it changes only
    with the configuration) and served without leaving the event loop."""
    return Response(
        oauth.discovery_document(),
        media_type="application/json",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/.well-known/openid-configuration")
async def openid_configuration(oauth: OAuthDep) -> Response:
    """OIDC Discovery 1.0 §4 (:func:`discovery_answer`)."""
    return discovery_answer(oauth)


@router.get("/.well-known/oauth-authorization-server")
async def oauth_authorization_server(oauth: OAuthDep) -> Response:
    """RFC 8414 §3: the same metadata at the OAuth well-known location."""
    return discovery_answer(oauth)
