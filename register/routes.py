"""The register's HTTP surface: the CCUS data API (``/api/v1/...``, RFC 6750 bearer tokens whose
audience is the data API) and the employer's pages for its technicians. Mounted by the application
after the identity provider's routes."""

from fastapi import APIRouter

from register import (
    api,
    api_attendance,
    api_employer,
    attendance_csv,
    employer_affiliation,
    employer_pages,
    employer_systems,
)


def build_router() -> APIRouter:
    """The register's routes (none shares a path with the identity provider's)."""
    router = APIRouter()
    router.include_router(employer_pages.router)
    router.include_router(employer_affiliation.router)
    router.include_router(employer_systems.router)
    router.include_router(api.router)
    router.include_router(api_employer.router)
    router.include_router(api_attendance.router)
    router.include_router(attendance_csv.router)
    return router
