"""Runtime settings, read from ``GENBA_*`` environment variables and ``.env``.

Feature switches and secrets are validated at start-up; in production mode the
service refuses to start with a default or missing secret (issue 2, item 3).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.errors import GenbaError
from common.outbound import OutboundPolicy

#: Placeholder values that must never protect real data.
KNOWN_DEFAULT_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev", "development"})
MIN_SECRET_LENGTH = 32
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


class SettingsError(GenbaError, ValueError):
    """A setting is missing or unsafe; the message is one line for the operator."""

    code = "invalid_settings"


class Settings(BaseSettings):
    """All settings of one Genba ID process."""

    model_config = SettingsConfigDict(env_prefix="GENBA_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///var/genba.sqlite3"
    issuer: str = "http://localhost:8000"
    secret_key: SecretStr | None = None
    secret_file: Path = Path("var/secret.key")
    redis_url: str | None = None
    #: every key this deployment writes to Redis starts with it (several deployments, one Redis)
    redis_prefix: str = Field(default="genba:", min_length=1, max_length=64)

    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_absolute_hours: int = Field(default=12, ge=1, le=24 * 30)
    login_transaction_minutes: int = Field(default=10, ge=1, le=60)
    cookie_name: str = "genba_session"
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    #: requests in progress per worker beyond which new ones get 503 + Retry-After (load shedding)
    max_inflight: int = Field(default=256, ge=1)
    #: threads per worker running blocking handlers; the PostgreSQL pool is sized from it (twice, for a
    #: handler that holds two sessions) so a busy worker waits for a thread, never times out on the pool
    worker_threads: int = Field(default=20, ge=1, le=200)

    #: requests per minute from one client address to each endpoint where an anonymous caller makes
    #: the service store something (/authorize, /par, /wallet/nonce, /login/passkey/options); 0 = no limit
    anonymous_requests_per_minute: int = Field(default=120, ge=0)
    #: how often each worker deletes expired rows (c_nonces, interactions, PAR, replay entries...); 0 = never
    purge_interval_seconds: int = Field(default=300, ge=0, le=24 * 3600)

    #: how long a revoking write (client disabled, token or grant revoked, account disabled) waits after
    #: COMMIT for every worker to confirm it emptied its cached copy (PostgreSQL; docs/operations.md
    #: "Worker caches"); not below the listeners' lease of 1.5 s, so a worker that never confirms has
    #: stopped believing its caches by the time the write returns
    cache_fence_seconds: float = Field(default=2.0, ge=1.5, le=30)

    throttle_window_seconds: int = Field(default=3600, ge=60)

    argon2_memory_kib: int = Field(default=19 * 1024, ge=19 * 1024)
    argon2_time_cost: int = Field(default=2, ge=2)
    argon2_parallelism: int = Field(default=1, ge=1)

    rp_name: str = "Genba ID 現場ID"

    signing_alg: Literal["ES256", "RS256", "PS256", "EdDSA"] = "ES256"
    key_rotation_delay_hours: float = Field(default=24, ge=0)
    key_retain_hours: float = Field(default=24, ge=1)
    access_token_minutes: int = Field(default=10, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    refresh_grace_seconds: int = Field(default=10, ge=0, le=120)
    code_lifetime_seconds: int = Field(default=60, ge=5, le=60)
    dpop_nonce_required: bool = False
    mynaportal_url: str = "http://127.0.0.1:8100"
    mynaportal_client_id: str = "genba-id"
    mynaportal_client_secret: SecretStr | None = None
    policies_dir: Path = Path(__file__).resolve().parent.parent / "policies"
    logout_retry_seconds: int = Field(default=30, ge=0, le=3600)
    #: development only: let the server call loopback/private/link-local addresses (a local RP's
    #: back-channel receiver, the reference source on 127.0.0.1); refused in production (issue 12 hole 6)
    outbound_allow_private: bool = False
    #: seconds for each connect/read/write of an outbound request, and bytes of the largest response
    outbound_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    outbound_max_bytes: int = Field(default=1_000_000, ge=1024, le=50_000_000)
    #: SHA-256 (hex) of the initial access token for RFC 7591 dynamic registration; unset = disabled.
    registration_token_sha256: str | None = None
    #: JSON file of the wallet providers whose client attestations are trusted (attest_jwt_client_auth,
    #: HAIP 1.0 §4.3): {"providers": [{"issuer": ..., "jwks": {"keys": [...]}}]}; unset = trust nobody
    wallet_providers: Path | None = None

    @model_validator(mode="after")
    def _validate(self) -> Self:
        parts = urlsplit(self.issuer)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SettingsError(f"GENBA_ISSUER must be an absolute http(s) URL, got {self.issuer!r}")
        if parts.query or parts.fragment:
            raise SettingsError("GENBA_ISSUER must not have a query or fragment (OIDC Discovery §3)")
        if self.environment == "production":
            if self.outbound_allow_private:
                raise SettingsError("GENBA_OUTBOUND_ALLOW_PRIVATE is for development only; refusing to start")
            if parts.scheme != "https":
                raise SettingsError("GENBA_ISSUER must use https in production")
            value = self.secret_key.get_secret_value() if self.secret_key else ""
            if value.strip().lower() in KNOWN_DEFAULT_SECRETS:
                raise SettingsError("GENBA_SECRET_KEY is missing or a default value; refusing to start")
            if len(value) < MIN_SECRET_LENGTH:
                raise SettingsError(
                    f"GENBA_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters; refusing to start"
                )
        return self

    def outbound_policy(self) -> OutboundPolicy:
        """Where and how the server may call out (common/outbound.py)."""
        return OutboundPolicy(
            allow_private=self.outbound_allow_private,
            timeout=self.outbound_timeout_seconds,
            deadline=3 * self.outbound_timeout_seconds,
            max_bytes=self.outbound_max_bytes,
        )

    @property
    def issuer_host(self) -> str:
        return urlsplit(self.issuer).hostname or "localhost"

    @property
    def secure_cookies(self) -> bool:
        """Secure cookies everywhere except plain-http localhost development."""
        return urlsplit(self.issuer).scheme == "https" or self.issuer_host not in LOCAL_HOSTS

    def resolved_secret(self) -> bytes:
        """Return the master secret; outside production create one under ``var/`` once.

        The file is created with mode 0600 (its directory 0700) and is ignored by git: keys never
        live in the repo.
        """
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value().encode()
        if self.environment == "production":  # pragma: no cover - the validator already refused
            raise SettingsError("GENBA_SECRET_KEY is missing; refusing to start")
        from app.private_files import private_file

        path = self.secret_file
        if not path.exists():
            private_file(path)  # 0600 in a 0700 directory
            path.write_text(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation errors into one :class:`SettingsError` line."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first.get("msg", "invalid settings")).removeprefix("Value error, ")
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise SettingsError(f"{where}: {message}" if where else message) from None
