"""Responses of the reference source: Japanese HTML pages, OAuth and Bearer errors, redirects."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from tools.reference_source.oauth import OAuthError

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
PAGE_HEADERS = {
    **NO_STORE,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    # same-origin (not no-referrer): browsers then send a real Origin with the form posts, which the
    # source checks; no-referrer makes Chromium send "Origin: null".
    "Referrer-Policy": "same-origin",
}
_templates = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")), autoescape=select_autoescape(["html"])
)


def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_templates.get_template(template).render(**context), status_code=status, headers=PAGE_HEADERS)


def error_page(message: str, detail: str = "", status: int = 400) -> HTMLResponse:
    return page("error.html", status, message=message, detail=detail)


def oauth_error(exc: OAuthError) -> JSONResponse:
    headers = dict(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="reference-source"'
    body = {"error": exc.error, "error_description": exc.description}
    return JSONResponse(body, status_code=exc.status, headers=headers)


def bearer_error(status: int, error: str | None, description: str) -> JSONResponse:
    challenge = 'Bearer realm="reference-source"'
    if error:
        challenge += f', error="{error}", error_description="{description}"'
    body = {"error": error or "invalid_token", "error_description": description}
    return JSONResponse(body, status_code=status, headers={**NO_STORE, "WWW-Authenticate": challenge})


def with_params(uri: str, params: dict[str, str]) -> str:
    return uri + ("&" if "?" in uri else "?") + urlencode(params)


def same_origin(request: Request) -> bool:
    """Browsers send Origin on POST; a form posted from another site is refused (the cookie is also Lax)."""
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"
