"""Protected-resource side of access tokens: RFC 6750 Bearer (header or form body, exactly one way)
and RFC 9449 DPoP-bound tokens (scheme ``DPoP`` with a proof carrying ``ath``).

Every check names the resource server doing it and the kinds of token it serves (RFC 9068 §4,
RFC 8707): a token minted for another audience or kind is ``invalid_token`` here, whatever else
it carries (issue 12, hole 1)."""

from __future__ import annotations

from collections.abc import Collection

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import Session

from idp.oauth.dpop import CHALLENGE_ALGS, DPoPError
from idp.oauth.errors import safe_description
from idp.oauth.http import ProtocolError, form_params
from idp.oauth.server import json_error
from idp.oauth.services import OAuthServices
from idp.oauth.tokens import AccessTokenClaims, Resource, TokenKind


def unauthorized(error: str, description: str, scheme: str = "Bearer") -> Response:
    return json_error(
        error,
        description,
        401 if error != "insufficient_scope" else 403,
        {"WWW-Authenticate": f'{scheme} error="{error}", error_description="{description}"'},
    )


def dpop_problem(exc: DPoPError) -> Response:
    headers = {"WWW-Authenticate": f'DPoP error="{exc.error}", algs="{CHALLENGE_ALGS}"'}
    if exc.nonce:
        headers["DPoP-Nonce"] = exc.nonce
    return json_error(exc.error, safe_description(exc.description), 401, headers)


async def presented_token(request: Request, *, allow_body: bool) -> tuple[str, str] | Response:
    """The token and its scheme (``bearer``/``dpop``), or the 400/401 response to send."""
    form: dict[str, str] = {}
    if (
        allow_body
        and request.method == "POST"
        and request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
    ):
        try:
            form = await form_params(request)
        except ProtocolError as exc:
            return json_error(exc.error, safe_description(exc.description), exc.status)
    header = request.headers.get("authorization")
    body_token = form.get("access_token")
    if header and body_token:
        return json_error("invalid_request", "use only one way to send the access token")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() not in ("bearer", "dpop") or not value.strip():
            return unauthorized("invalid_request", "malformed Authorization header")
        return value.strip(), scheme.lower()
    if body_token:
        return body_token, "bearer"
    return Response(
        status_code=401, headers={"WWW-Authenticate": f'Bearer realm="genba", DPoP algs="{CHALLENGE_ALGS}"'}
    )


def verify_presented(
    svc: OAuthServices,
    db: Session,
    request: Request,
    value: str,
    scheme: str,
    *,
    resource: Resource,
    kinds: Collection[TokenKind],
) -> AccessTokenClaims | Response:
    """Check the token for ``resource`` and, for DPoP-bound tokens, the proof (htm, htu, ath, key match)."""
    return verify_token(
        svc,
        db,
        method=request.method,
        path=request.url.path,
        dpop=request.headers.getlist("dpop"),
        value=value,
        scheme=scheme,
        resource=resource,
        kinds=kinds,
    )


def verify_token(
    svc: OAuthServices,
    db: Session,
    *,
    method: str,
    path: str,
    dpop: list[str],
    value: str,
    scheme: str,
    resource: Resource,
    kinds: Collection[TokenKind],
) -> AccessTokenClaims | Response:
    claims = svc.tokens.check_access_token(db, value, resource=resource, kinds=kinds)
    if claims is None:
        return unauthorized("invalid_token", "the access token is not valid", "DPoP" if scheme == "dpop" else "Bearer")
    if claims.jkt or scheme == "dpop":
        if scheme != "dpop" or not claims.jkt:
            return unauthorized("invalid_token", "DPoP-bound tokens need the DPoP scheme and a proof", "DPoP")
        try:
            proof = svc.dpop.verify(
                db, dpop, method=method, url=svc.config.url(path), now=svc.clock(), access_token=value
            )
        except DPoPError as exc:
            db.commit()
            return dpop_problem(exc)
        db.commit()
        if proof.jkt != claims.jkt:
            return unauthorized("invalid_token", "the proof key is not the token's key", "DPoP")
    return claims
