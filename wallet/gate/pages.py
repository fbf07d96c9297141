"""The gate page (``/gate/app``): a tablet web app for the prime contractor's staff at a site gate — online
checks with OpenID4VP 1.0 (wallet.gate.vp), offline checks with the synced bundle (wallet.gate.offline,
docs/offline-gate.md) verified in the browser, and a queue of results uploaded when the network returns.

Plain static files (``wallet/static/gate``, native ES modules, no build step) with their own service
worker (scope ``/gate/``) so the page opens without a network once it has been used. The modules both
pages import (``wallet/static/common``: base64url, JWS, SD-JWT, X.509, status list, DCQL, QR, language,
IndexedDB) are served here at ``/common/<file>``, the path their relative imports (``../common/…``) name
from ``/gate/`` and ``/wallet/``. The QR libraries are pinned copies of npm packages
(``wallet/static/vendor``, see its README); this router serves them to the wallet page as well
(``/wallet/vendor/…``), whose presentation code uses the same QR reading and writing. The service
workers' caching logic (``wallet/static/sw-core.js``) is shared too: the gate's worker imports it as
``/gate/sw-core.js``, the wallet's as ``/wallet/sw-core.js`` (wallet.web).

``GET /gate/operator`` tells the page who is signed in (their name, not their login) and which sites' gates
they may run, with each site's name and prime contractor (issue 15, item 6: names, not codes).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from wallet.gate.service import GateRuntime

router = APIRouter()

STATIC = Path(__file__).resolve().parent.parent / "static"
SCOPE = "/gate/"
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "media-src 'self' blob: mediastream:; worker-src 'self'; manifest-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
JS, CSS = "text/javascript; charset=utf-8", "text/css; charset=utf-8"
#: URL path -> (file under wallet/static, media type)
GATE_ASSETS = {
    "/gate/app": ("gate/index.html", "text/html; charset=utf-8"),
    # the page's modules (gate.js is the one the page loads) and the modules both pages share
    **{f"/gate/{p.name}": (f"gate/{p.name}", JS) for p in sorted((STATIC / "gate").glob("*.js")) if p.name != "sw.js"},
    **{f"/common/{p.name}": (f"common/{p.name}", JS) for p in sorted((STATIC / "common").glob("*.js"))},
    "/gate/gate.css": ("gate/gate.css", CSS),
    "/gate/sw.js": ("gate/sw.js", JS),
    # the caching logic the gate's and the wallet's service workers share (importScripts)
    "/gate/sw-core.js": ("sw-core.js", JS),
    "/gate/manifest.webmanifest": ("gate/manifest.webmanifest", "application/manifest+json"),
    "/gate/vendor/jsQR.js": ("vendor/jsQR.js", JS),
    "/gate/vendor/qrcode.js": ("vendor/qrcode.js", JS),
    # the wallet page's presentation uses the same QR code reading and writing
    "/wallet/vendor/jsQR.js": ("vendor/jsQR.js", JS),
    "/wallet/vendor/qrcode.js": ("vendor/qrcode.js", JS),
}


@lru_cache(maxsize=len(GATE_ASSETS))
def _load(name: str, mtime_ns: int) -> tuple[bytes, str]:
    body = (STATIC / name).read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _asset(request: Request) -> Response:
    """The file with a content ETag; ``no-cache`` so the service workers and the browser always revalidate."""
    name, media_type = GATE_ASSETS[request.url.path]
    body, etag = _load(name, (STATIC / name).stat().st_mtime_ns)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if name.endswith(".html"):
        headers["Content-Security-Policy"] = CSP
    if request.url.path == "/gate/sw.js":
        headers["Service-Worker-Allowed"] = SCOPE
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


for _path in GATE_ASSETS:
    router.add_api_route(_path, _asset, methods=["GET"], include_in_schema=False)


@router.get("/gate", include_in_schema=False)
def gate_home() -> Response:
    return RedirectResponse("/gate/app", status_code=307)


@router.get("/gate/operator")
def operator(request: Request) -> Response:
    """The signed-in gate operator and the sites whose gates they run (the prime contractor's sites)."""
    gate: GateRuntime = request.app.state.gate
    who = gate.directory.operator(request)
    if who is None:
        return JSONResponse(
            {"error": "login_required", "login": "/login?next=/gate/app"},
            status_code=401,
            headers={"Cache-Control": "no-store"},
        )
    names = {
        site_id: {"name": n.name, "prime_name": n.prime_name}
        for site_id in who.sites
        if (n := who.site_names.get(site_id)) is not None
    }
    return JSONResponse(
        {
            "username": who.username,
            "display_name": who.display_name,
            "employer_id": who.employer_id,
            "sites": sorted(who.sites),
            "site_names": names,
        },
        headers={"Cache-Control": "no-store"},
    )
