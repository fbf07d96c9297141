"""``genba admin create-client | disable-client | rotate-client-secret | revoke-grant | revoke-token``
and ``genba keys rotate | list``."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlmodel import Session, col, select

from app import database
from app.cli.admin import admin_cli
from app.cli.common import JsonOpt, emit, fail, out, settings_or_fail, transaction
from idp.models import OAuthClient, SigningKey
from idp.oauth.public import (
    SigningKeyError,
    create_client,
    disable_client,
    revoke_access_token,
    revoke_grant_by_id,
    rotate_client_secret,
    rotate_signing_key,
)
from idp.public import SecretBox, SystemRandomness, system_clock
from register.owners import set_owner

keys_cli = typer.Typer(help="Provider signing keys", no_args_is_help=True)


def _jwks(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        text = Path(value[1:]).read_text() if value.startswith("@") else value
        data = json.loads(text)
    except (OSError, ValueError) as exc:
        fail(f"jwks: not a readable JSON JWK Set ({exc})")
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        fail('jwks: must be a JWK Set object {"keys": [...]}')
    if any(not isinstance(k, dict) or "d" in k for k in data["keys"]):
        fail("jwks: must hold public keys only")
    return data


def _created_client(row: OAuthClient, client_secret: str | None, acts_for: str | None) -> dict[str, Any]:
    """What create-client reports of the client it registered; the secret appears here only."""
    data: dict[str, Any] = {
        "client_id": row.client_id,
        "client_type": row.client_type,
        "redirect_uris": row.redirect_uris,
        "grant_types": row.grant_types,
        "token_endpoint_auth_method": row.token_endpoint_auth_method,
        "scope": row.scope,
        "subject_type": row.subject_type,
        "require_par": row.require_par,
        "require_dpop": row.require_dpop,
        "wallet": row.holder_wallet,
        "acts_for": acts_for,
    }
    if client_secret:
        data["client_secret"] = client_secret
    return data


# long: one typer option per flag of the command (its documented interface, 45 lines); the body
# passes them to idp.oauth.clients.create_client, which checks them
@admin_cli.command("create-client")
def create_client_cmd(
    name: Annotated[str, typer.Option(help="Client name shown on the consent screen")],
    redirect_uri: Annotated[list[str] | None, typer.Option(help="Registered redirect URI (repeat)")] = None,
    public: Annotated[bool, typer.Option("--public", help="Public client (no secret; PKCE required)")] = False,
    grant_type: Annotated[
        list[str] | None, typer.Option(help="authorization_code|refresh_token|client_credentials")
    ] = None,
    auth_method: Annotated[
        str | None,
        typer.Option(help="client_secret_basic|client_secret_post|private_key_jwt|none|attest_jwt_client_auth"),
    ] = None,
    scope: Annotated[str | None, typer.Option(help="Space-separated scopes the client may ask for")] = None,
    jwks: Annotated[
        str | None, typer.Option(help="Public JWK Set (JSON or @file) for private_key_jwt / request objects")
    ] = None,
    pairwise: Annotated[bool, typer.Option("--pairwise", help="Pairwise subject identifiers (OIDC Core §8.1)")] = False,
    sector: Annotated[str | None, typer.Option(help="Sector identifier host for pairwise subjects")] = None,
    require_par: Annotated[bool, typer.Option("--require-par")] = False,
    require_dpop: Annotated[bool, typer.Option("--require-dpop")] = False,
    post_logout_redirect_uri: Annotated[list[str] | None, typer.Option()] = None,
    backchannel_logout_uri: Annotated[str | None, typer.Option()] = None,
    request_object_alg: Annotated[str | None, typer.Option(help="Required request object alg (or none)")] = None,
    owner_employer_id: Annotated[str | None, typer.Option(help="事業者ID of the company the system acts for")] = None,
    owner_orderer_id: Annotated[
        str | None,
        typer.Option(
            help="Orderer code (create-orderer --code) of the 発注者 the system acts for: it reads the roster "
            "fields and attendance of that orderer's active projects only (not with --owner-employer-id)"
        ),
    ] = None,
    id_token_alg: Annotated[
        str | None, typer.Option(help="ID token alg: ES256|RS256|PS256|EdDSA (default: provider's)")
    ] = None,
    wallet: Annotated[
        bool,
        typer.Option(
            "--wallet", help="A holder's wallet app: may receive credentials (OpenID4VCI); owned by no company"
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Register a relying party; the client secret is printed once.

    A system of a company (--owner-employer-id) or of an orderer (--owner-orderer-id) acts for it:
    with --grant-type client_credentials it calls /api/v1 with that organisation's relationships."""
    if wallet and (owner_employer_id or owner_orderer_id or "client_credentials" in (grant_type or [])):
        # a wallet holds a person's credentials for that person: it acts for no company or orderer
        # and has no token of its own (issue 12, hole 3)
        fail("--wallet: a wallet app is owned by no company or orderer and has no client_credentials grant")
    settings = settings_or_fail()
    if owner_employer_id and owner_orderer_id:
        fail("owner: --owner-employer-id and --owner-orderer-id exclude each other / 所有者はどちらか一方です")
    with transaction(settings) as session:
        new = create_client(
            session=session,
            client_name=name,
            redirect_uris=list(redirect_uri or []),
            client_type="public" if public else "confidential",
            grant_types=list(grant_type or []) or None,
            token_endpoint_auth_method=auth_method,
            scope=scope,
            jwks=_jwks(jwks),
            subject_type="pairwise" if pairwise else "public",
            sector_identifier=sector,
            require_par=require_par,
            require_dpop=require_dpop,
            post_logout_redirect_uris=list(post_logout_redirect_uri or []),
            backchannel_logout_uri=backchannel_logout_uri,
            backchannel_logout_session_required=bool(backchannel_logout_uri),
            request_object_signing_alg=request_object_alg,
            id_token_signed_response_alg=id_token_alg,
            holder_wallet=wallet,
            outbound=settings.outbound_policy(),  # the URIs the provider will call (issue 12 hole 6)
            rng=SystemRandomness(),
            now=system_clock(),
        )
        row = new.client
        owner = set_owner(session=session, client=row, employer_id=owner_employer_id, orderer_code=owner_orderer_id)
        data = _created_client(row, new.client_secret, owner.label() if owner else None)
    emit(as_json, data, lambda: out.print("created client " + ", ".join(f"{k}={v}" for k, v in data.items())))


ClientIdArg = Annotated[str, typer.Argument(help="client_id of the relying party")]


@admin_cli.command("disable-client")
def disable_client_cmd(client_id: ClientIdArg, as_json: JsonOpt = False) -> None:
    """Disable a relying party: it can no longer get tokens and its tokens stop working; every
    running worker refuses it before this command returns (docs/operations.md "Worker caches")."""
    with transaction(settings_or_fail()) as session:
        disable_client(session=session, client_id=client_id)
    emit(as_json, {"client_id": client_id, "disabled": True}, lambda: out.print(f"disabled client {client_id}"))


@admin_cli.command("rotate-client-secret")
def rotate_client_secret_cmd(client_id: ClientIdArg, as_json: JsonOpt = False) -> None:
    """A new client secret, printed once; the old one is refused by every worker from now on."""
    with transaction(settings_or_fail()) as session:
        secret = rotate_client_secret(session=session, client_id=client_id, rng=SystemRandomness())
    data = {"client_id": client_id, "client_secret": secret}
    emit(as_json, data, lambda: out.print(f"new secret of {client_id}: {secret}"))


@admin_cli.command("revoke-grant")
def revoke_grant_cmd(
    grant_id: Annotated[str, typer.Argument(help="the grant (gid of its access tokens)")], as_json: JsonOpt = False
) -> None:
    """Revoke a grant: its refresh tokens and every access token carrying its gid stop working."""
    with transaction(settings_or_fail()) as session:
        revoke_grant_by_id(session=session, grant_id=grant_id, now=system_clock())
    emit(as_json, {"grant_id": grant_id, "revoked": True}, lambda: out.print(f"revoked grant {grant_id}"))


@admin_cli.command("revoke-token")
def revoke_token_cmd(
    token: Annotated[str, typer.Argument(help="the access token (a JWT), or - to read it from stdin")],
    as_json: JsonOpt = False,
) -> None:
    """Revoke one access token (RFC 7009 §2) until it would have expired; reading it from stdin keeps
    it out of the shell's history."""
    value = sys.stdin.read() if token == "-" else token  # noqa: S105 ("-" is not a password)
    with transaction(settings_or_fail()) as session:
        jti = revoke_access_token(session=session, token=value)
    emit(as_json, {"jti": jti, "revoked": True}, lambda: out.print(f"revoked access token {jti}"))


@keys_cli.command("rotate")
def keys_rotate(
    alg: Annotated[str, typer.Option(help="ES256|RS256|PS256|EdDSA")] = "",
    delay_hours: Annotated[float | None, typer.Option(help="Publish now, sign after this many hours")] = None,
    retain_hours: Annotated[float | None, typer.Option(help="Keep replaced keys published this long after")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Publish a new signing key now and sign with it after the delay (publish first, sign later)."""
    settings = settings_or_fail()
    now = system_clock()
    delay = timedelta(hours=settings.key_rotation_delay_hours if delay_hours is None else delay_hours)
    retain = timedelta(hours=settings.key_retain_hours if retain_hours is None else retain_hours)
    box = SecretBox(settings.resolved_secret(), "signing-keys", SystemRandomness())
    with transaction(settings) as session:
        try:
            row = rotate_signing_key(
                session=session, box=box, alg=alg or settings.signing_alg, now=now, delay=delay, retain=retain
            )
        except SigningKeyError as exc:
            fail(exc)
        data = {
            "kid": row.kid,
            "alg": row.alg,
            "published_at": now.isoformat(),
            "signs_from": row.active_from.isoformat(),
        }
    emit(
        as_json,
        data,
        lambda: out.print(f"new key {data['kid']} ({data['alg']}) published now, signs from {data['signs_from']}"),
    )


@keys_cli.command("list")
def keys_list(as_json: JsonOpt = False) -> None:
    settings = settings_or_fail()
    engine = database.make_engine(settings.database_url)
    with Session(engine) as session:
        rows = session.exec(select(SigningKey).order_by(col(SigningKey.created_at))).all()
        data = [
            {
                "kid": r.kid,
                "alg": r.alg,
                "published_at": r.created_at.isoformat(),
                "signs_from": r.active_from.isoformat(),
                "expires_at": r.expires_at.isoformat() if r.expires_at else None,
            }
            for r in rows
        ]
    engine.dispose()
    if as_json:
        sys.stdout.write(json.dumps(data) + "\n")
    else:
        for item in data:
            out.print(" ".join(f"{k}={v}" for k, v in item.items()))


@admin_cli.command("wallet-providers")
def wallet_providers_cmd(as_json: JsonOpt = False) -> None:
    """Check GENBA_WALLET_PROVIDERS and list the wallet providers whose client attestations are trusted
    (attest_jwt_client_auth, HAIP 1.0 §4.3). Nobody is trusted while it is unset; a file that cannot be
    read or holds a private key fails here as it would stop the server."""
    from idp.oauth.public import load_wallet_providers

    settings = settings_or_fail()
    try:
        providers = load_wallet_providers(settings.wallet_providers)
    except ValueError as exc:
        fail(f"GENBA_WALLET_PROVIDERS: {exc}")
    data: dict[str, Any] = {
        "file": str(settings.wallet_providers) if settings.wallet_providers else None,
        "providers": [{"issuer": i, "kids": providers.kids(i)} for i in providers.issuers()],
    }

    def human() -> None:
        if not data["providers"]:
            out.print("no wallet provider is trusted (GENBA_WALLET_PROVIDERS is unset or empty)")
        for entry in data["providers"]:
            out.print(f"trusted wallet provider {entry['issuer']} keys {', '.join(entry['kids'])}")

    emit(as_json, data, human)
