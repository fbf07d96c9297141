"""The web wallet: a small installable web app (PWA) in which a technician receives credentials over
OpenID4VCI, keeps them with their holder keys in IndexedDB, sees their status and deletes them.

Plain static files (``wallet/static``, native ES modules, no build step) served under ``/wallet/``: the
page's modules (``wallet/static/wallet``, ``app.js`` the one the page loads) at ``/wallet/<file>``, the
modules it shares with the gate page at ``/common/<file>`` (wallet.gate.pages). The page is Japanese first
with an English switch, and its scripts and styles come from this origin only, so the page works under
the application's default Content-Security-Policy (``script-src 'self'`` covers module scripts).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

router = APIRouter()

STATIC = Path(__file__).resolve().parent / "static"
SCOPE = "/wallet/"
#: The application's default policy (app.middleware) spelled out, plus the wallet's own needs:
#: its service worker and manifest come from this origin, and it talks only to this origin.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "worker-src 'self'; manifest-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
JS = "text/javascript; charset=utf-8"
#: The page's ES modules, each served at /wallet/<file>.
MODULES = sorted(p.name for p in (STATIC / "wallet").glob("*.js"))
ASSETS = {
    "app.html": "text/html; charset=utf-8",
    **{f"wallet/{name}": JS for name in MODULES},
    "sw.js": "text/javascript; charset=utf-8",
    "sw-core.js": "text/javascript; charset=utf-8",
    "wallet.css": "text/css; charset=utf-8",
    "manifest.webmanifest": "application/manifest+json",
    "icon.svg": "image/svg+xml",
    "icon-maskable.svg": "image/svg+xml",
}


@lru_cache(maxsize=len(ASSETS))
def _load(name: str, mtime_ns: int) -> tuple[bytes, str]:
    body = (STATIC / name).read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _asset(request: Request, name: str, headers: dict[str, str] | None = None) -> Response:
    """The file with a content ETag; ``no-cache`` so the service worker and browser always revalidate."""
    body, etag = _load(name, (STATIC / name).stat().st_mtime_ns)
    common = {"ETag": etag, "Cache-Control": "no-cache", **(headers or {})}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=common)
    return Response(body, media_type=ASSETS[name], headers=common)


@router.get("/wallet/app")
def wallet_app(request: Request) -> Response:
    return _asset(request, "app.html", {"Content-Security-Policy": CSP})


def wallet_module(request: Request) -> Response:
    return _asset(request, "wallet/" + request.url.path.removeprefix("/wallet/"))


for _name in MODULES:
    router.add_api_route(f"/wallet/{_name}", wallet_module, methods=["GET"], include_in_schema=False)


@router.get("/wallet/sw.js")
def wallet_service_worker(request: Request) -> Response:
    return _asset(request, "sw.js", {"Service-Worker-Allowed": SCOPE})


@router.get("/wallet/sw-core.js")
def wallet_service_worker_core(request: Request) -> Response:
    """The caching logic both service workers import (``no-cache``: the worker's update check sees a new copy)."""
    return _asset(request, "sw-core.js")


@router.get("/wallet/wallet.css")
def wallet_styles(request: Request) -> Response:
    return _asset(request, "wallet.css")


@router.get("/wallet/manifest.webmanifest")
def wallet_manifest(request: Request) -> Response:
    return _asset(request, "manifest.webmanifest")


@router.get("/wallet/icon.svg")
def wallet_icon(request: Request) -> Response:
    return _asset(request, "icon.svg")


@router.get("/wallet/icon-maskable.svg")
def wallet_icon_maskable(request: Request) -> Response:
    return _asset(request, "icon-maskable.svg")
