"""Where a signed-out request is sent: the sign-in page, and after it back to a page (issue 15, Broken 3).

The target after signing in is always a GET of a page: for a GET (a page), the page itself; for a form's
POST, the page the form is on, which the route names (never the POST's own path: reopened with GET it
answered 405 「Method Not Allowed」). The target is a local path only; the sign-in page checks it again
(``idp/web/signin_pages.py::safe_next``, RFC 9700 §4.11: no open redirect). No Referer is needed (the
application sends ``Referrer-Policy: no-referrer``) and none is trusted.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse


def page_to_return_to(request: Request, *, form_page: str) -> str:
    """The GET page to come back to: the request's own path and query for a GET or HEAD, else ``form_page``."""
    if request.method in ("GET", "HEAD"):
        query = request.url.query
        return request.url.path + (f"?{query}" if query else "")
    return form_page


def sign_in_again(request: Request, *, form_page: str) -> RedirectResponse:
    """303 to ``/login?next=<page>`` (``page_to_return_to``); the sign-in page says why when the session
    ended by itself (``idp.sessions.SessionStore.ended_by_time``)."""
    target = page_to_return_to(request, form_page=form_page)
    return RedirectResponse("/login?next=" + quote(target, safe="/"), status_code=303)
