"""The protocol front's routes: token (RFC 6749 §3.2), introspection (RFC 7662), userinfo (OIDC Core
§5.3), JWKS (RFC 7517) and discovery (OIDC Discovery 1.0 §4, RFC 8414 §3) as plain Starlette routes,
which ``app/front.py`` dispatches ahead of FastAPI's routing and dependency injection
(docs/architecture.md, "The protocol front").

Each handler reads the request with the same readers as the FastAPI routes (``form_params``,
``presented_token``) and answers with the same function (``idp/oauth/routes.py``: ``token_answer``,
``introspection_answer``, ``userinfo_answer``, ``jwks_answer``, ``discovery_answer``); errors are
raised, and rendered by the application's renderers (``app/error_handlers.py``). What differs from
the FastAPI routes is dispatch and where the work runs:

- token, introspection and userinfo run on the event loop while ``OAuthServices.hot_ready()`` says
  the per-worker caches answer without the database, and in the thread pool otherwise (as the
  FastAPI routes always do): a blocking call never runs on the event loop. Some requests write
  whatever the caches say, and go to the thread pool too (:func:`_must_write`): a single-use value
  to record (a DPoP proof's ``jti``, RFC 9449 §11.1; a client assertion's, RFC 7523 §3; a client
  attestation's PoP), or a grant to consume or rotate (the single-use code, RFC 6749 §4.1.2; refresh
  rotation, RFC 9700 §4.14.2), i.e. every grant but ``client_credentials``; and userinfo whenever the
  application gives the provider technician claims (``ProviderExtensions.userinfo_claims``): each
  release is decided by the consent engine and recorded as a disclosure, whose group commit a caller
  waits for (docs/domain.md rule 6), so it never runs on the event loop;
- JWKS answers on the event loop while the signing keys are cached (``KeyStore.cached``), in the
  thread pool when they are due to be re-read; discovery always answers on the event loop (its
  bytes depend only on the configuration).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from idp.oauth.attestation import ATTESTATION_HEADER, POP_HEADER
from idp.oauth.http import form_params
from idp.oauth.resource import presented_token
from idp.oauth.routes import discovery_answer, introspection_answer, jwks_answer, token_answer, userinfo_answer
from idp.oauth.runtime import OAuthRuntime


def _oauth(request: Request) -> OAuthRuntime:
    runtime: OAuthRuntime = request.app.state.oauth
    return runtime


#: headers and parameters whose single-use values are recorded in the replay store
WRITING_HEADERS = ("dpop", ATTESTATION_HEADER.lower(), POP_HEADER.lower())
WRITING_PARAMS = ("client_assertion",)


def _must_write(request: Request, form: dict[str, str]) -> bool:
    """The request records a single-use value or consumes a grant, whatever the caches hold."""
    headers = request.headers
    return any(name in headers for name in WRITING_HEADERS) or any(name in form for name in WRITING_PARAMS)


async def _run(oauth: OAuthRuntime, writes: bool, work: Callable[..., Response], *args: Any) -> Response:
    """``work`` on the event loop when it can make no database call (it writes nothing and the caches
    are ``hot_ready``), else in the thread pool."""
    if not writes and oauth.services.hot_ready():
        return work(*args)
    return await run_in_threadpool(work, *args)


async def token(request: Request) -> Response:
    """RFC 6749 §3.2 token endpoint (:func:`idp.oauth.routes.token_answer`)."""
    oauth = _oauth(request)
    form = await form_params(request)  # ProtocolError: RFC 6749 §5.2, rendered by the application
    writes = form.get("grant_type") != "client_credentials" or _must_write(request, form)
    return await _run(oauth, writes, token_answer, oauth, request, form)


async def introspect(request: Request) -> Response:
    """RFC 7662 token introspection (:func:`idp.oauth.routes.introspection_answer`)."""
    oauth = _oauth(request)
    form = await form_params(request)  # ProtocolError: RFC 6749 §5.2, rendered by the application
    return await _run(oauth, _must_write(request, form), introspection_answer, oauth, request, form)


async def userinfo(request: Request) -> Response:
    """OIDC Core §5.3 userinfo, Bearer (RFC 6750) or DPoP (RFC 9449 §7) (:func:`idp.oauth.routes.userinfo_answer`)."""
    oauth = _oauth(request)
    value, scheme = await presented_token(request, allow_body=True)  # TokenRefused: RFC 6750 §3.1
    # technician claims are decided and recorded (a disclosure record, waited for): never on the loop
    writes = oauth.extensions.userinfo_claims is not None or _must_write(request, {})
    return await _run(oauth, writes, userinfo_answer, oauth, request, value, scheme)


async def jwks(request: Request) -> Response:
    """RFC 7517 JWK Set (:func:`idp.oauth.routes.jwks_answer`): from memory while the keys are cached."""
    oauth = _oauth(request)
    if oauth.services.keys.cached():
        return jwks_answer(oauth)
    return await run_in_threadpool(jwks_answer, oauth)


async def discovery(request: Request) -> Response:
    """OIDC Discovery 1.0 §4 and RFC 8414 §3 (:func:`idp.oauth.routes.discovery_answer`)."""
    return discovery_answer(_oauth(request))


#: The front's routes, the same paths and methods as the FastAPI routes of ``idp/oauth/routes.py``
#: (Starlette adds ``HEAD`` to a ``GET`` route; the dispatcher leaves ``HEAD`` to FastAPI, which answers
#: it as it always has).
FRONT_ROUTES: tuple[Route, ...] = (
    Route("/token", token, methods=["POST"]),
    Route("/introspect", introspect, methods=["POST"]),
    Route("/userinfo", userinfo, methods=["GET", "POST"]),
    Route("/jwks", jwks, methods=["GET"]),
    Route("/.well-known/openid-configuration", discovery, methods=["GET"]),
    Route("/.well-known/oauth-authorization-server", discovery, methods=["GET"]),
)
