"""Error answers: a JSON object with a spec error code for programs (RFC 6749 §5.2), an error page in
the visitor's language for people — never a stack trace (issue 12 item 8). The handlers that use
them are registered by ``create_app``."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from idp.public import render

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
