"""Cross-site request forgery on the gate's cookie-authenticated JSON endpoints (issue 12: every
cookie-authenticated state change, JSON included, is protected against CSRF).

The gate page posts ``application/json`` with ``fetch``. A cross-site page can make a browser send a
form or a ``text/plain`` body with the staff's cookie (a "simple request", no CORS preflight), but never
``application/json`` without a preflight this server does not grant; so anything else is refused with
415 before the cookie is looked at (Fetch Standard §3.2.3 CORS-safelisted request-header; OWASP CSRF
Prevention Cheat Sheet, "Employing Custom Request Headers for AJAX/API"). As defence in depth the
browser's own statement of where the request comes from is checked too: ``Sec-Fetch-Site`` (Fetch
Metadata) must be ``same-origin`` when sent, and ``Origin`` must be the issuer's origin when sent
(RFC 6454 §7; clients that are not browsers send neither).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi.responses import JSONResponse, Response
from starlette.requests import Request


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _refuse(status: int, description: str) -> Response:
    return JSONResponse(
        {"error": "invalid_request", "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


def same_origin_json(request: Request, issuer: str) -> Response | None:
    """None when ``request`` may change state: a JSON body sent by this origin's own page."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        return _refuse(415, "the body must be application/json")
    return same_origin(request, issuer)


def same_origin(request: Request, issuer: str) -> Response | None:
    """None unless the browser says the request comes from another site (Fetch Metadata, Origin)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.lower() not in ("same-origin", "none"):
        return _refuse(403, "cross-site requests are not accepted here")
    origin = request.headers.get("origin")
    if origin is not None and origin.lower() != origin_of(issuer):
        return _refuse(403, "cross-origin requests are not accepted here")
    return None
