"""Where the web application renders errors: one place per surface (issue 13 item 2).

Errors are raised (:class:`common.errors.GenbaError` and its families) and rendered here, by the
exception handlers :func:`install` registers on the application:

- **protocol** (programs calling OAuth/OIDC endpoints and protected resources): RFC 6749 §5.2 /
  RFC 6750 §3.1 JSON, ``{"error": code, "error_description": English}``, with the error's status
  and headers (``WWW-Authenticate`` challenge, RFC 6750 §3; ``DPoP-Nonce``, RFC 9449 §8/§9) and
  ``Cache-Control: no-store``; a request with no credentials at all gets the challenge and no body
  (RFC 6750 §3.1) — :func:`protocol_response`;
- **data API** (``/api/``): a consent refusal as ``{"error": code, "message": "ja / en"}`` —
  :func:`api_response`;
- **pages**: the error page in the reader's language, or its JSON twin for callers that are
  programs (:func:`wants_json`) — :func:`page_error`.

The CLI is the third surface; it renders in ``app/cli/common.py``.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from app import ops
from app.middleware import REQUEST_ID_KEY, request_id_var
from common.errors import GenbaError
from common.messages import Message, message
from consent.ports import ConsentError
from idp.oauth.public import DPoPError, ProtocolError, TokenRefused, json_error, safe_description
from idp.public import BadForm, FieldProblem, SecretBoxError, render

log = logging.getLogger("genba.app")

#: OAuth/OIDC/OpenID4VCI endpoints whose callers are programs: errors are JSON objects with a spec
#: error code (RFC 6749 §5.2), never an HTML page or a stack trace (issue 12 item 8)
PROTOCOL_PATHS = ("/token", "/par", "/introspect", "/revoke", "/register", "/userinfo", "/credential", "/jwks")


def wants_json(request: Request) -> bool:
    """Programs get JSON: the data API, passkey ceremonies, protocol endpoints, and any caller that
    asks for JSON and not HTML."""
    accept = request.headers.get("accept", "")
    path = request.url.path
    return (
        path.startswith(("/api/", "/login/passkey/", "/account/passkeys/", "/wallet/nonce", "/.well-known/"))
        or any(path == p or path.startswith(p + "/") for p in PROTOCOL_PATHS)
        or ("application/json" in accept and "text/html" not in accept)
    )


def protocol_response(exc: GenbaError) -> Response:
    """RFC 6749 §5.2 / RFC 6750 §3.1: ``error`` and ``error_description`` (only the characters
    RFC 6749 §4.1.2.1 allows), the error's status and headers, never cached. RFC 6750 §3.1: a
    request that carried no credentials gets the ``WWW-Authenticate`` challenge and no error."""
    if getattr(exc, "bare", False):
        return Response(status_code=exc.status, headers=exc.headers)
    return json_error(exc.code, safe_description(exc.en), exc.status, exc.headers)


def api_response(exc: GenbaError) -> Response:
    """The data API's refusal: the stable ``code`` and the reason in both languages."""
    return JSONResponse({"error": exc.code, "message": exc.bilingual()}, status_code=exc.status)


def page_error(request: Request, status: int, text: Message) -> Response:
    """The error page in the reader's language (``?lang=en`` or the language cookie), or, for a
    program (:func:`wants_json`), ``error``/``error_description`` with the message in both languages."""
    if wants_json(request):
        return JSONResponse(
            {
                "error": "invalid_request" if status < 500 else "server_error",
                "error_description": text.en,
                "message": text.bilingual(),
            },
            status_code=status,
        )
    english = request.query_params.get("lang") == "en" or request.cookies.get("genba_lang") == "en"
    return render(
        request, request.app.state.idp, "error.html", {"message": text.en if english else text.ja}, status=status
    )


def keys_unavailable(request: Request) -> Response:
    """Stored keys sealed under another ``GENBA_SECRET_KEY``: 503 until the right key is back
    (RFC 6749 §5.2 ``temporarily_unavailable``; ``/readyz`` says so too, issue 12 item 8)."""
    if wants_json(request):
        return JSONResponse(
            {"error": "temporarily_unavailable", "error_description": message("page.cannot_sign").en},
            status_code=503,
            headers={"Retry-After": "30", "Cache-Control": "no-store"},
        )
    return page_error(request, 503, message("page.unavailable"))


async def _protocol(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GenbaError)
    return protocol_response(exc)


async def _consent(request: Request, exc: Exception) -> Response:
    """A consent refusal: the data API's JSON under ``/api/``, the error page elsewhere."""
    assert isinstance(exc, ConsentError)
    if request.url.path.startswith("/api/"):
        return api_response(exc)
    return page_error(request, exc.status, exc.message)


async def _bad_form(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadForm)
    return page_error(request, exc.status, exc.message)


async def _field_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FieldProblem)
    return page_error(request, exc.status, exc.message.prefixed(exc.field))


async def _validation(request: Request, exc: Exception) -> Response:
    return page_error(request, 400, message("page.bad_request"))


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return page_error(request, 404, message("page.not_found"))
    if exc.status_code == 405:
        # a form's address opened with GET (a bookmark, an old return target): in the reader's language,
        # with the Allow header RFC 9110 §15.5.6 requires (issue 15, Broken 3)
        response = page_error(request, 405, message("page.method_not_allowed"))
        response.headers.update(exc.headers or {})
        return response
    return page_error(request, exc.status_code, Message.untranslated(str(exc.detail)))


async def _gone(request: Request, exc: Exception) -> Response:
    """The client went away while sending its body: nothing to answer, nothing to alarm anyone."""
    log.debug("client disconnected before its request was read (request id %s)", request_id_var.get())
    return Response(status_code=400)


async def _unexpected(request: Request, exc: Exception) -> Response:
    """The last resort (Starlette runs it outside every middleware): logged with the request's
    id, answered without a stack trace, the id in ``X-Request-Id`` for the support desk."""
    rid = str(request.scope.get(REQUEST_ID_KEY) or request_id_var.get())
    token = request_id_var.set(rid)
    try:
        if ops.dependency_down(exc):
            log.warning("backing service unavailable: %s (request id %s)", type(exc).__name__, rid)
            response = ops.unavailable_response()
        elif isinstance(exc, SecretBoxError):
            # keys sealed under another GENBA_SECRET_KEY: /readyz says so too (issue 12 item 8)
            log.error("stored keys cannot be opened with this GENBA_SECRET_KEY (request id %s)", rid)
            response = keys_unavailable(request)
        else:
            log.exception("unhandled error (request id %s)", rid)
            response = page_error(request, 500, message("page.unexpected"))
    finally:
        request_id_var.reset(token)
    response.headers["X-Request-Id"] = rid
    return response


def install(app: FastAPI) -> None:
    """Register the renderers: protocol errors (token refusals, unreadable protocol requests, DPoP
    proofs refused at the token endpoint), consent refusals, page errors, and the last resort for everything else."""
    app.add_exception_handler(TokenRefused, _protocol)
    app.add_exception_handler(ProtocolError, _protocol)
    app.add_exception_handler(DPoPError, _protocol)  # RFC 9449 §5: 400 at the token endpoint
    app.add_exception_handler(ConsentError, _consent)
    app.add_exception_handler(BadForm, _bad_form)
    app.add_exception_handler(FieldProblem, _field_problem)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(ClientDisconnect, _gone)
    app.add_exception_handler(Exception, _unexpected)
