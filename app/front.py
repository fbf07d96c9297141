"""The protocol front: the hot protocol endpoints (``idp/oauth/front.py``: token, introspection,
userinfo, JWKS, discovery) dispatched by a dictionary look-up ahead of FastAPI's routing and
dependency injection; every other request falls through to FastAPI (docs/architecture.md, "The
protocol front").

The front is the innermost of the application's pure-ASGI middleware (``app/factory.py``), so the
request id, security headers, body limit, NUL refusal, metrics and load shedding, rate limits and the
access log are the same code around both. A route's errors are rendered by the application's own
exception handlers (``app/error_handlers.py``, looked up as Starlette's ``ExceptionMiddleware`` looks
them up, by the exception's class hierarchy); an error no handler takes goes on to the last resort
(``error_handlers._unexpected``), as it does from a FastAPI route.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from starlette._utils import get_route_path
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send


class ProtocolFront:
    """Pure ASGI: ``(method, path)`` → a front route, else the wrapped application (FastAPI's stack)."""

    def __init__(self, app: ASGIApp, *, routes: Iterable[Route], exception_handlers: Mapping[Any, Any]) -> None:
        self.app = app
        # HEAD is left to FastAPI: Starlette adds it to GET routes, FastAPI's own routes do not serve it
        self.routes = {(m, r.path): r for r in routes for m in r.methods or () if m != "HEAD"}
        #: the application's handler table (FastAPI.exception_handlers), read when an error happens
        self.exception_handlers = exception_handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.routes.get((scope["method"], get_route_path(scope))) if scope["type"] == "http" else None
        if route is None:
            await self.app(scope, receive, send)
            return
        # what Starlette's router records on a match: the metrics label (app/ops.py) reads scope["route"]
        scope["route"], scope["endpoint"], scope["path_params"] = route, route.endpoint, {}
        request = Request(scope, receive)
        try:
            response: Response = await route.endpoint(request)
        except Exception as exc:
            handler = self.handler_for(exc)
            if handler is None:
                raise
            response = await handler(request, exc)
        await response(scope, receive, send)

    def handler_for(self, exc: Exception) -> Any:
        """The application's handler for ``exc`` (its class or nearest base), except the last resort
        (``Exception``), which Starlette's ``ServerErrorMiddleware`` runs outside every middleware."""
        for cls in type(exc).__mro__:
            if cls is not Exception and cls in self.exception_handlers:
                return self.exception_handlers[cls]
        return None
