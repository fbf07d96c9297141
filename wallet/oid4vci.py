"""OpenID for Verifiable Credential Issuance 1.0 endpoints: issuer metadata, nonce, credential (with
batch issuance bound to different keys), notification, offers by reference; plus SD-JWT VC issuer
metadata, type metadata and the status lists. Errors are the names the spec gives (§8.3.1.2)."""

from __future__ import annotations

import json
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from wallet import credentials, offers, proofs, status
from wallet.models import IssuedCredential
from wallet.ports import AccessError, AccessInfo
from wallet.runtime import WalletRuntime

router = APIRouter()
FORMAT = "dc+sd-jwt"


def _runtime(request: Request) -> WalletRuntime:
    runtime: WalletRuntime = request.app.state.wallet
    return runtime


def _error(error: str, description: str, status: int = 400, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def issuer_metadata(runtime: WalletRuntime) -> dict[str, Any]:
    """§12.2.4 Credential Issuer Metadata."""
    issuer = runtime.config.issuer
    configurations = {}
    for kind in credentials.TYPES.values():
        configurations[kind.configuration_id] = {
            "format": FORMAT,
            "vct": kind.vct(issuer),
            "scope": kind.configuration_id,
            "cryptographic_binding_methods_supported": ["jwk"],
            "credential_signing_alg_values_supported": ["ES256"],
            "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}},
            "credential_metadata": {
                "display": [
                    {
                        "name": kind.name_ja,
                        "locale": "ja-JP",
                        "background_color": kind.background,
                        "text_color": kind.text,
                    },
                    {
                        "name": kind.name_en,
                        "locale": "en-US",
                        "background_color": kind.background,
                        "text_color": kind.text,
                    },
                ],
                "claims": [
                    {"path": [c], "display": [{"name": ja, "locale": "ja-JP"}, {"name": en, "locale": "en-US"}]}
                    for c, ja, en in kind.claims
                ],
            },
        }
    return {
        "credential_issuer": issuer,
        "authorization_servers": [issuer],
        "credential_endpoint": f"{issuer}/wallet/credential",
        "nonce_endpoint": f"{issuer}/wallet/nonce",
        "notification_endpoint": f"{issuer}/wallet/notification",
        "batch_credential_issuance": {"batch_size": runtime.config.batch_size},
        "display": [{"name": "現場ID", "locale": "ja-JP"}, {"name": "Genba ID", "locale": "en-US"}],
        "credential_configurations_supported": configurations,
    }


@router.get("/.well-known/openid-credential-issuer")
def openid_credential_issuer(request: Request) -> Response:
    return JSONResponse(issuer_metadata(_runtime(request)), headers={"Cache-Control": "public, max-age=300"})


@router.get("/.well-known/jwt-vc-issuer")
def jwt_vc_issuer(request: Request) -> Response:
    """SD-JWT VC §5: the issuer's public keys for verifiers that resolve keys online."""
    runtime = _runtime(request)
    runtime.keys.current(runtime.clock())
    return JSONResponse(
        {"issuer": runtime.config.issuer, "jwks": {"keys": runtime.keys.published()}},
        headers={"Cache-Control": "public, max-age=300"},
    )


@router.get("/vct/{name}")
def vct_metadata(name: str, request: Request) -> Response:
    runtime = _runtime(request)
    for kind in credentials.TYPES.values():
        if kind.vct_path == name:
            return JSONResponse(
                credentials.type_metadata(kind, runtime.config.issuer),
                headers={"Cache-Control": "public, max-age=3600"},
            )
    return _error("not_found", "unknown credential type", 404)


@router.get("/wallet/root.pem")
def root_certificate(request: Request) -> Response:
    """The trust anchor gates pin, to check ``x5c`` chains offline."""
    runtime = _runtime(request)
    return Response(runtime.keys.current(runtime.clock()).root_pem, media_type="application/x-pem-file")


@router.get("/wallet/status/{list_id}")
def status_list(list_id: str, request: Request) -> Response:
    token = _runtime(request).publisher.token(list_id)
    if token is None:
        return _error("not_found", "unknown status list", 404)
    return Response(token, media_type="application/statuslist+jwt", headers={"Cache-Control": "max-age=60"})


@router.get("/wallet/offers/{offer_id}")
def offer(offer_id: str, request: Request) -> Response:
    runtime = _runtime(request)
    with Session(runtime.engine) as session:
        document = offers.offer_document(session, runtime, offer_id)
        session.commit()
    if document is None:
        return _error("invalid_request", "this credential offer is unknown, used or expired", 404)
    return JSONResponse(document, headers={"Cache-Control": "no-store"})


@router.post("/wallet/nonce")
def nonce(request: Request) -> Response:
    """§7: a fresh c_nonce, not cacheable."""
    runtime = _runtime(request)
    with Session(runtime.engine) as session:
        value = proofs.new_nonce(session, runtime.config, runtime.clock())
        session.commit()
    return JSONResponse({"c_nonce": value}, headers={"Cache-Control": "no-store"})


def _access(runtime: WalletRuntime, request: Request) -> AccessInfo:
    return runtime.tokens.check(
        authorization=request.headers.get("authorization"),
        dpop=request.headers.getlist("dpop"),
        method=request.method,
        url=f"{runtime.config.issuer}{request.url.path}",
    )


@router.post("/wallet/credential")
async def credential(request: Request) -> Response:
    """§8: one credential per proof (batch, each bound to a different key), all with one c_nonce."""
    runtime = _runtime(request)
    try:
        access = await run_in_threadpool(_access, runtime, request)
    except AccessError as exc:
        return _error(exc.error, exc.description, exc.status, exc.headers)
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return _error("invalid_credential_request", "the body is not JSON")
    if not isinstance(body, dict):
        return _error("invalid_credential_request", "the body must be a JSON object")
    return await run_in_threadpool(_issue, runtime, access, body)


def _proof_values(body: dict[str, Any]) -> list[str]:
    if "proof" in body and "proofs" in body:
        raise proofs.ProofError("invalid_credential_request", "send either proof or proofs")
    if "proofs" in body:
        values = body["proofs"].get("jwt") if isinstance(body["proofs"], dict) else None
    elif isinstance(body.get("proof"), dict) and body["proof"].get("proof_type") == "jwt":
        values = [body["proof"].get("jwt")]
    else:
        values = None
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise proofs.ProofError("invalid_proof", "jwt proofs are required")
    return values


def _which_credential(access: AccessInfo, body: dict[str, Any]) -> tuple[str, str] | Response:
    """§8.2: the credential asked for, by identifier or by configuration (exactly one), as
    (configuration, identifier) — or the error response when the access token does not cover it."""
    identifier, configuration = body.get("credential_identifier"), body.get("credential_configuration_id")
    if not isinstance(identifier, str | None) or not isinstance(configuration, str | None):
        # §8.2: both are strings; anything else is the wallet's mistake (a list was a 500: issue 12 item 8)
        return _error("invalid_credential_request", "credential_identifier and credential_configuration_id are strings")
    if bool(identifier) == bool(configuration):
        return _error("invalid_credential_request", "send credential_identifier or credential_configuration_id")
    if configuration:
        if configuration not in credentials.TYPES:
            return _error("unknown_credential_configuration", "this credential configuration is not offered")
        if configuration not in access.authorized:
            return _error("invalid_credential_request", "the access token does not cover this configuration")
        identifiers = access.authorized[configuration]
        identifier = identifiers[0] if identifiers else configuration
    else:
        configuration = next((c for c, ids in access.authorized.items() if identifier in ids), None)
        if configuration is None:
            return _error("unknown_credential_identifier", "the access token does not cover this credential")
    return configuration, str(identifier)


def _invalid_nonce(fresh: str) -> JSONResponse:
    """A credential error response (``invalid_nonce``): a proof's nonce is unknown, used or expired; the
    wallet retries with ``fresh``."""
    return JSONResponse(
        {
            "error": "invalid_nonce",
            "error_description": "c_nonce is unknown, used or expired",
            "c_nonce": fresh,
        },
        status_code=400,
        headers={"Cache-Control": "no-store"},
    )


def _issue(runtime: WalletRuntime, access: AccessInfo, body: dict[str, Any]) -> Response:
    now = runtime.clock()
    asked = _which_credential(access, body)
    if isinstance(asked, Response):
        return asked
    configuration, identifier = asked
    try:
        values = _proof_values(body)
        if len(values) > runtime.config.batch_size:
            return _error("invalid_credential_request", f"at most {runtime.config.batch_size} proofs")
        checked = [proofs.check_proof(v, config=runtime.config, client_id=None, now=now) for v in values]
    except proofs.ProofError as exc:
        return _error(exc.error, exc.description)
    if len({p.jkt for p in checked}) != len(checked):
        return _error("invalid_proof", "each proof in a batch must use a different key")
    kind = credentials.TYPES[configuration]
    claims = _claims(runtime, access.technician_id, configuration, str(identifier))
    if claims is None:
        return _error("credential_request_denied", "this credential cannot be issued (revoked or not found)")
    runtime.keys.current(now)  # create the issuer key (own transaction) before the issuing one starts
    with Session(runtime.engine, expire_on_commit=False) as session:
        if any(not proofs.nonce_usable(session, p.nonce, now) for p in checked) or not all(
            proofs.consume_nonce(session, n, now) for n in {p.nonce for p in checked}
        ):
            session.rollback()
            fresh = proofs.new_nonce(session, runtime.config, now)
            session.commit()
            return _invalid_nonce(fresh)
        notification_id = secrets.token_urlsafe(16)
        issued = [
            credentials.issue(
                session,
                runtime.keys,
                runtime.publisher,
                issuer=runtime.config.issuer,
                kind=kind,
                claims=claims,
                technician_id=access.technician_id,
                subject_ref=None if configuration == credentials.CARD else str(identifier),
                holder_jwk=p.jwk,
                holder_jkt=p.jkt,
                notification_id=notification_id,
                now=now,
            )
            for p in checked
        ]
        if configuration == credentials.CARD:
            for item in issued:
                item.row.subject_ref = claims.get("employer", {}).get("employer_id") if claims.get("employer") else None
        session.commit()
    return JSONResponse(
        {"credentials": [{"credential": i.credential} for i in issued], "notification_id": notification_id},
        headers={"Cache-Control": "no-store"},
    )


def _claims(runtime: WalletRuntime, technician_id: str, configuration: str, identifier: str) -> dict[str, Any] | None:
    if configuration == credentials.CARD:
        card = runtime.holders.card(technician_id, now=runtime.clock())
        return credentials.card_claims(card) if card else None
    for cert in runtime.holders.certificates(technician_id):
        if cert.ref == identifier and cert.status == "valid":
            return credentials.certificate_claims(cert)
    return None


@router.post("/wallet/notification")
async def notification(request: Request) -> Response:
    """§11: credential_accepted | credential_failure | credential_deleted; 204 on success."""
    runtime = _runtime(request)
    try:
        access = await run_in_threadpool(_access, runtime, request)
        body = json.loads(await request.body())
    except AccessError as exc:
        return _error(exc.error, exc.description, exc.status, exc.headers)
    except (ValueError, UnicodeDecodeError):
        return _error("invalid_notification_request", "the body is not JSON")
    event = body.get("event") if isinstance(body, dict) else None
    if event not in ("credential_accepted", "credential_failure", "credential_deleted"):
        return _error("invalid_notification_request", "unknown event")

    def work() -> Response:
        with Session(runtime.engine) as session:
            rows = session.exec(
                select(IssuedCredential)
                .where(col(IssuedCredential.notification_id) == str(body.get("notification_id")))
                .where(col(IssuedCredential.technician_id) == access.technician_id)
            ).all()
            if not rows:
                return _error("invalid_notification_id", "unknown notification_id")
            for row in rows:
                row.notified = event
                session.add(row)
            if event == "credential_deleted":  # the holder threw it away: no copy should still work
                status.set_status(
                    session, [r.id for r in rows], status.INVALID, reason="deleted by the holder", now=runtime.clock()
                )
            session.commit()
        return Response(status_code=204)

    return await run_in_threadpool(work)
