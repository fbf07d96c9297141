"""RFC 7591 registration and RFC 7592 management endpoints (JSON)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from idp.oauth.config import bound_session
from idp.oauth.errors import OAuth2Error, safe_description
from idp.oauth.registration import check_metadata, client_metadata, managed_client, save
from idp.oauth.runtime import OAuthDep, OAuthRuntime
from idp.oauth.server import GenbaJsonRequest, json_error

router = APIRouter()


def _error(exc: OAuth2Error) -> Response:
    status = int(exc.status_code or 400)
    headers = {"WWW-Authenticate": f'Bearer error="{exc.error}"'} if status == 401 else None
    return json_error(exc.error or "invalid_request", safe_description(exc.description or ""), status, headers)


async def _json_body(request: Request) -> dict[str, Any] | Response:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return json_error("invalid_client_metadata", "the body must be application/json")
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return json_error("invalid_client_metadata", "the body is not valid JSON")
    if not isinstance(body, dict):
        return json_error("invalid_client_metadata", "the body must be a JSON object")
    return body


def _disabled(oauth: OAuthRuntime) -> bool:
    return not oauth.services.config.registration_token_hash


@router.post("/register")
async def register(request: Request, oauth: OAuthDep) -> Response:
    if _disabled(oauth):
        return json_error("registration_not_supported", "dynamic registration is not enabled", 404)
    body = await _json_body(request)
    if isinstance(body, Response):
        return body
    svc = oauth.services

    def work() -> Response:
        with Session(svc.engine, expire_on_commit=False) as db, bound_session(db):
            req = GenbaJsonRequest("POST", svc.config.url("/register"), request.headers, body)
            try:
                status, data, headers = oauth.registration.create_registration_response(req)
            except OAuth2Error as exc:
                db.rollback()
                return _error(exc)
            db.commit()
            return JSONResponse(data, status_code=status, headers=dict(headers))

    return await run_in_threadpool(work)


@router.api_route("/register/{client_id}", methods=["GET", "PUT", "DELETE"])
async def manage(client_id: str, request: Request, oauth: OAuthDep) -> Response:
    """RFC 7592 §2.1 read, §2.2 update (full replacement), §2.3 delete."""
    if _disabled(oauth):
        return json_error("registration_not_supported", "dynamic registration is not enabled", 404)
    body: dict[str, Any] | Response | None = await _json_body(request) if request.method == "PUT" else None
    if isinstance(body, Response):
        return body
    svc = oauth.services

    def work() -> Response:
        with Session(svc.engine, expire_on_commit=False) as db, bound_session(db):
            try:
                row = managed_client(db, client_id, request.headers)
                if request.method == "DELETE":
                    row.disabled = True
                    db.add(row)
                    db.commit()
                    return Response(status_code=204, headers={"Cache-Control": "no-store"})
                if request.method == "PUT":
                    assert body is not None
                    if body.get("client_id", client_id) != client_id:
                        return json_error("invalid_client_metadata", "client_id cannot change")
                    check_metadata(body)
                    save(svc, db, {k: v for k, v in body.items() if k != "client_id"}, update=row)
                    db.commit()
            except OAuth2Error as exc:
                db.rollback()
                return _error(exc)
            data = client_metadata(row)
            data["registration_client_uri"] = svc.config.url(f"/register/{row.client_id}")
            return JSONResponse(data, headers={"Cache-Control": "no-store"})

    return await run_in_threadpool(work)
