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

from collections.abc import Mapping
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


def foreign_request(headers: Mapping[str, str], issuer: str, *, opaque_origin_ok: bool = False) -> str | None:
    """Why the browser's own headers say this request was made by another site, or None.

    ``Sec-Fetch-Site`` (Fetch Metadata Request Headers §2.1) other than ``same-origin`` or ``none``
    (a person's own navigation) is foreign, ``same-site`` included (a sibling host is another origin).
    An ``Origin`` (RFC 6454 §7, Fetch §3.1) other than the issuer's is foreign. ``Origin: null`` is what
    a browser sends for a same-origin *form* when the page's Referrer-Policy is ``no-referrer`` (Fetch
    "append a request Origin header"), so with ``opaque_origin_ok`` it is no verdict when Fetch Metadata
    says same-origin or is absent; the form token decides then. Programs that are not browsers send neither
    header. Shared by the gate's JSON routes and the application-wide guard (app/cross_site.py)."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.lower() not in ("same-origin", "none"):
        return "cross-site requests are not accepted here"
    origin = headers.get("origin")
    if origin is None or (opaque_origin_ok and origin.strip().lower() == "null"):
        return None
    if origin.strip().lower() != origin_of(issuer):
        return "cross-origin requests are not accepted here"
    return None


def same_origin(request: Request, issuer: str) -> Response | None:
    """None unless the browser says the request comes from another site (Fetch Metadata, Origin)."""
    reason = foreign_request(request.headers, issuer)
    return None if reason is None else _refuse(403, reason)
