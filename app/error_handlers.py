"""Error answers: a JSON object with a spec error code for programs (RFC 6749 §5.2), an error page in
the visitor's language for people — never a stack trace (issue 12 item 8). ``create_app`` registers
the handlers with ``install(app)``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from app import ops
from app.middleware import REQUEST_ID_KEY, request_id_var
from idp.public import BadForm, FieldProblem, SecretBoxError, render

log = logging.getLogger("genba.app")

#: OAuth/OIDC/OpenID4VCI endpoints whose callers are programs: errors are JSON objects with a spec
#: error code (RFC 6749 §5.2), never an HTML page or a stack trace (issue 12 item 8)
PROTOCOL_PATHS = ("/token", "/par", "/introspect", "/revoke", "/register", "/userinfo", "/credential", "/jwks")


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    path = request.url.path
    return (
        path.startswith(("/api/", "/login/passkey/", "/account/passkeys/", "/wallet/nonce", "/.well-known/"))
        or any(path == p or path.startswith(p + "/") for p in PROTOCOL_PATHS)
        or ("application/json" in accept and "text/html" not in accept)
    )


def page_error(request: Request, status: int, ja: str, en: str) -> Response:
    if _wants_json(request):
        return JSONResponse(
            {
                "error": "invalid_request" if status < 500 else "server_error",
                "error_description": en,
                "message": f"{ja} / {en}",
            },
            status_code=status,
        )
    lang_message = en if request.query_params.get("lang") == "en" or request.cookies.get("genba_lang") == "en" else ja
    return render(request, request.app.state.idp, "error.html", {"message": lang_message}, status=status)


def keys_unavailable(request: Request) -> Response:
    """The stored keys cannot be opened (sealed under another GENBA_SECRET_KEY): 503, retry later."""
    if _wants_json(request):
        return JSONResponse(
            {"error": "temporarily_unavailable", "error_description": "the service cannot sign right now"},
            status_code=503,
            headers={"Retry-After": "30", "Cache-Control": "no-store"},
        )
    return page_error(
        request, 503, "ただいまサービスを利用できません", "the service is unavailable; please try again later"
    )


def install(app: FastAPI) -> None:
    """Registers the error handlers on ``app``: every error answered as above; the last resort logs
    the request id."""

    @app.exception_handler(BadForm)
    async def _bad_form(request: Request, exc: BadForm) -> Response:
        return page_error(request, exc.status, exc.ja, exc.en)

    @app.exception_handler(FieldProblem)
    async def _field_problem(request: Request, exc: FieldProblem) -> Response:
        return page_error(request, 400, f"{exc.field}: {exc.ja}", f"{exc.field}: {exc.en}")

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return page_error(request, 400, "入力が正しくありません", "the request is not valid")

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404:
            return page_error(request, 404, "ページが見つかりません", "page not found")
        return page_error(request, exc.status_code, str(exc.detail), str(exc.detail))

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> Response:
        """The client went away while sending its body: nothing to answer, nothing to alarm anyone."""
        log.debug("client disconnected before its request was read (request id %s)", request_id_var.get())
        return Response(status_code=400)

    @app.exception_handler(Exception)
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
                response = page_error(
                    request, 500, "処理中に問題が発生しました", "something went wrong; please try again later"
                )
        finally:
            request_id_var.reset(token)
        response.headers["X-Request-Id"] = rid
        return response
