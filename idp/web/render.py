"""Rendering of pages with the language, translator and CSRF token every template needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from idp.web.deps import IdpRuntime, signed_in_of
from idp.web.forms import Csrf
from idp.web.i18n import LANG_COOKIE, pick_language, translator

TEMPLATES_DIR = Path(__file__).parent / "templates"


def make_templates() -> Jinja2Templates:
    return Jinja2Templates(directory=str(TEMPLATES_DIR))


#: What may stay unescaped in a path segment (RFC 3986 §3.3 pchar, less "%": the path is already decoded).
PATH_SAFE = "/:@!$&'()*+,;=-._~"


def same_origin_path(path: str) -> str:
    """``path`` as a path-absolute reference (RFC 3986 §4.2) that cannot leave this origin: exactly one
    leading "/", then no "/" or "\\" (a browser reads "//host" and "/\\host" as another host, WHATWG URL
    §4.4 "special authority slashes"), every other character percent-encoded. Issue 12 item 8: the 404
    page linked to ``//evil.example/...`` from the request path."""
    return "/" + quote(path.lstrip("/\\"), safe=PATH_SAFE)


def _switch_lang_url(request: Request, other: str) -> str:
    """Same page and query (``next`` kept), only ``lang`` replaced; relative, never another host."""
    url = request.url.include_query_params(lang=other)
    return f"{same_origin_path(url.path)}?{url.query}"


def render(
    request: Request,
    runtime: IdpRuntime,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    csrf: Csrf | None = None,
    session: str | None = None,
) -> HTMLResponse:
    """``session``: the session cookie this response sets, if it sets one (the form token is bound to it)."""
    lang = pick_language(request)
    cookies: dict[str, str] = {}
    csrf = csrf or Csrf(runtime.config, runtime.rng)
    ctx: dict[str, Any] = {
        "lang": lang,
        "other_lang": "en" if lang == "ja" else "ja",
        "t": translator(lang),
        "csrf_token": csrf.token_for(request, cookies, session=session),
        "path": request.url.path,
        "switch_lang_url": _switch_lang_url(request, "en" if lang == "ja" else "ja"),
        # the shared header (base.html): the way home and サインアウト for whoever is signed in (issue 15 item 4)
        "viewer": signed_in_of(request),
    }
    ctx.update(context or {})
    response = runtime.templates.TemplateResponse(request, name, ctx, status_code=status)
    for value in cookies.values():
        csrf.set_cookie(response, value)
    if request.query_params.get("lang") == lang:
        response.set_cookie(
            LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", secure=runtime.config.secure_cookies, httponly=True
        )
    response.headers["Cache-Control"] = "no-store"
    return response
