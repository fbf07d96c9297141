"""Tables of the OpenID provider: clients, signing keys, codes, grants, refresh tokens, PAR, replay caches."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index
from sqlmodel import Field, SQLModel

from idp.models.types import UTCDateTime


def _ts(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class OAuthClient(SQLModel, table=True):
    """A registered relying party (RFC 7591 client metadata, OIDC Registration §2)."""

    #: a system belongs to one organisation at most: a company or an orderer (発注者), never both
    __table_args__ = (
        CheckConstraint("owner_employer_pk IS NULL OR owner_orderer_pk IS NULL", name="ck_oauthclient_one_owner"),
    )

    client_id: str = Field(primary_key=True, max_length=64)
    client_secret_hash: str | None = Field(default=None, max_length=64)
    client_type: str = Field(max_length=16)  # confidential | public
    client_name: str = Field(max_length=200)
    redirect_uris: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    post_logout_redirect_uris: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    grant_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    scope: str = Field(max_length=1000)
    token_endpoint_auth_method: str = Field(max_length=40)
    jwks: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    subject_type: str = Field(default="public", max_length=16)
    sector_identifier: str | None = Field(default=None, max_length=255)
    require_par: bool = False
    require_dpop: bool = False
    backchannel_logout_uri: str | None = Field(default=None, max_length=2000)
    backchannel_logout_session_required: bool = False
    request_object_signing_alg: str | None = Field(default=None, max_length=16)
    #: OIDC Registration §2; never "none" (unsigned ID tokens are refused at registration)
    id_token_signed_response_alg: str | None = Field(default=None, max_length=16)  # None: provider default
    registration_token_hash: str | None = Field(default=None, max_length=64)
    #: The company this system belongs to and acts for (consent requests, roster access).
    owner_employer_pk: int | None = Field(default=None, foreign_key="employer.id")
    #: The orderer (発注者) this system belongs to and acts for (docs/domain.md rule 5: its projects only).
    owner_orderer_pk: int | None = Field(default=None, foreign_key="orderer.id")
    #: A holder's wallet app (registered by an operator): the only kind of client that may ask for
    #: ``openid_credential`` and whose tokens reach the credential endpoint (issue 12, hole 3)
    holder_wallet: bool = False
    disabled: bool = False
    created_at: datetime = _ts()


class SigningKey(SQLModel, table=True):
    """A provider signing key. Published in the JWKS from ``created_at``; used to sign from
    ``active_from``; kept for verification until ``expires_at`` (key rollover, RFC 7517 §5)."""

    kid: str = Field(primary_key=True, max_length=64)
    alg: str = Field(max_length=16)
    private_jwk_enc: str = Field(max_length=8000)
    public_jwk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts()
    active_from: datetime = _ts()
    expires_at: datetime | None = _ts(nullable=True)


class OAuthGrant(SQLModel, table=True):
    """What a user granted a client in one authorization; refresh tokens and access tokens point here,
    so revoking the grant revokes everything issued from it."""

    grant_id: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(max_length=64, index=True)
    account_id: int = Field(index=True)
    scope: str = Field(max_length=1000)
    sid: str | None = Field(default=None, max_length=64, index=True)
    auth_time: datetime = _ts()
    acr: str | None = Field(default=None, max_length=80)
    amr: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    claims: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    #: RFC 9396 authorization details granted, each ``genba_technician_data`` entry with its consent id
    authorization_details: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    dpop_jkt: str | None = Field(default=None, max_length=64)
    created_at: datetime = _ts()
    revoked_at: datetime | None = _ts(nullable=True)


class AuthorizationCode(SQLModel, table=True):
    """RFC 6749 §4.1.2: short-lived, single use, bound to client, redirect URI and PKCE challenge."""

    code_hash: str = Field(primary_key=True, max_length=64)
    grant_id: str = Field(max_length=64)
    client_id: str = Field(max_length=64)
    redirect_uri: str | None = Field(default=None, max_length=2000)
    nonce: str | None = Field(default=None, max_length=512)
    code_challenge: str | None = Field(default=None, max_length=128)
    code_challenge_method: str | None = Field(default=None, max_length=8)
    created_at: datetime = _ts()
    expires_at: datetime = _ts(index=True)  # idp/purge.py deletes by it
    used_at: datetime | None = _ts(nullable=True)


class RefreshToken(SQLModel, table=True):
    """A refresh token (stored hashed). Rotation records ``rotated_at``; a rotated token presented
    after the grace period revokes the whole grant (RFC 9700 §4.14.2)."""

    token_hash: str = Field(primary_key=True, max_length=64)
    grant_id: str = Field(max_length=64, index=True)
    client_id: str = Field(max_length=64)
    scope: str = Field(max_length=1000)
    created_at: datetime = _ts()
    expires_at: datetime = _ts()
    rotated_at: datetime | None = _ts(nullable=True)


class RevokedToken(SQLModel, table=True):
    """A revoked JWT access token (by ``jti``), kept until it would have expired anyway."""

    jti: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = _ts(index=True)


class PushedRequest(SQLModel, table=True):
    """RFC 9126: the parameters of a pushed authorization request, referenced by ``request_uri``."""

    request_uri_hash: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(max_length=64)
    params: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    expires_at: datetime = _ts(index=True)  # idp/purge.py deletes by it
    used_at: datetime | None = _ts(nullable=True)


class Interaction(SQLModel, table=True):
    """An authorization request waiting for the user to sign in or consent."""

    id_hash: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(max_length=64)
    params: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    login_after: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()
    expires_at: datetime = _ts(index=True)  # idp/purge.py deletes by it


class ReplayEntry(SQLModel, table=True):
    """Seen one-time values (DPoP proof ``jti``, client assertion ``jti``) until they expire."""

    key: str = Field(primary_key=True, max_length=200)
    expires_at: datetime = _ts(index=True)


class OidcConsent(SQLModel, table=True):
    """Scopes a user allowed a client to receive, remembered when the user asked to be remembered."""

    __table_args__ = (Index("ix_oidcconsent_account_client", "account_id", "client_id", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int
    client_id: str = Field(max_length=64)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = _ts()


class LogoutDelivery(SQLModel, table=True):
    """A back-channel logout token to deliver (OIDC Back-Channel Logout 1.0 §2.5), retried with back-off."""

    id: int | None = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=64, index=True)
    account_id: int
    sid: str | None = Field(default=None, max_length=64)
    logout_token: str = Field(max_length=8000)
    attempts: int = 0
    next_attempt_at: datetime = _ts(index=True)
    delivered_at: datetime | None = _ts(nullable=True)
    last_error: str | None = Field(default=None, max_length=300)
    created_at: datetime = _ts()
