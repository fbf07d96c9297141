"""Browser pages of the identity provider (Japanese first, English switch)."""

from fastapi import APIRouter

from idp.oauth import routes as oauth_routes
from idp.oauth import routes_registration
from idp.web import account_pages, consent_pages, logout_pages, oauth_pages, signin_pages


def build_router() -> APIRouter:
    """The provider's routes. The protocol endpoints come first: routing tries routers in order and
    token, introspection and userinfo requests are the hot path (no path is defined twice, so the
    order changes nothing else)."""
    router = APIRouter()
    router.include_router(oauth_routes.router)
    router.include_router(signin_pages.router)
    router.include_router(account_pages.router)
    router.include_router(consent_pages.router)
    router.include_router(oauth_pages.router)
    router.include_router(logout_pages.router)
    router.include_router(routes_registration.router)
    return router
