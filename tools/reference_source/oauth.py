"""The source's OAuth 2.0 state: browser sessions, authorization codes (PKCE S256) and access tokens.

All in memory: a restart signs everybody out and forgets every code and token, like a source
that lost its sessions. The app's handlers are ``async`` and never await while changing this
state, so a code is redeemed at most once even under concurrent requests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from tools.reference_source.keys import CLIENT_ID

CODE_TTL = 60
TOKEN_TTL = 600
SESSION_TTL = 900
USED_CODE_MEMORY = 600
DEFAULT_REDIRECT_PREFIXES = ("http://localhost", "http://127.0.0.1", "https://")
VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass(frozen=True)
class AuthRequest:
    redirect_uri: str
    state: str
    code_challenge: str
    scope: str


@dataclass
class BrowserSession:
    sid: str
    last_seen: float
    request: AuthRequest | None = None
    login: str | None = None


@dataclass(frozen=True)
class Grant:
    login: str
    request: AuthRequest
    expires_at: float


@dataclass(frozen=True)
class Token:
    client_id: str
    scope: str
    expires_at: float
    login: str | None = None


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def redirect_uri_allowed(uri: str, prefixes: Sequence[str]) -> bool:
    """A prefix must end at a host/port/path boundary: ``http://localhost`` allows
    ``http://localhost:9000/cb`` but not ``http://localhost.example`` or userinfo tricks."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc or parts.fragment:
        return False
    for prefix in prefixes:
        rest = uri[len(prefix) :]
        if uri.startswith(prefix) and (prefix.endswith("/") or rest == "" or rest[0] in ":/?"):
            return True
    return False


class OAuthState:
    def __init__(self, client_secret: str, redirect_uri_prefixes: Sequence[str], clock: Callable[[], float]) -> None:
        self._secret = client_secret
        self.prefixes = tuple(redirect_uri_prefixes)
        self.clock = clock
        self.sessions: dict[str, BrowserSession] = {}
        self.codes: dict[str, Grant] = {}
        self.used_codes: dict[str, tuple[float, str | None]] = {}  # code -> (forget at, token issued)
        self.tokens: dict[str, Token] = {}

    # -- browser sessions -------------------------------------------------------------------
    def session(self, sid: str | None) -> BrowserSession | None:
        now = self.clock()
        found = self.sessions.get(sid) if sid else None
        if found is None or found.last_seen + SESSION_TTL < now:
            return None
        found.last_seen = now
        return found

    def new_session(self) -> BrowserSession:
        now = self.clock()
        for sid in [s for s, v in self.sessions.items() if v.last_seen + SESSION_TTL < now]:
            del self.sessions[sid]
        created = BrowserSession(secrets.token_urlsafe(32), now)
        self.sessions[created.sid] = created
        return created

    # -- codes ------------------------------------------------------------------------------
    def issue_code(self, login: str, request: AuthRequest) -> str:
        now = self.clock()
        for code in [c for c, g in self.codes.items() if g.expires_at < now]:
            del self.codes[code]
        code = secrets.token_urlsafe(32)
        self.codes[code] = Grant(login, request, now + CODE_TTL)
        return code

    def redeem_code(self, code: str, redirect_uri: str, verifier: str) -> tuple[str, Token]:
        """Single use: a second attempt fails and revokes the token the first one got (RFC 6749 §4.1.2)."""
        now = self.clock()
        for used in [c for c, (forget, _) in self.used_codes.items() if forget < now]:
            del self.used_codes[used]
        if code in self.used_codes:
            _, issued = self.used_codes[code]
            if issued is not None:
                self.tokens.pop(issued, None)
            raise OAuthError("invalid_grant", "the authorization code was already used")
        grant = self.codes.pop(code, None)
        if grant is None or grant.expires_at < now:
            raise OAuthError("invalid_grant", "unknown or expired authorization code")
        self.used_codes[code] = (now + USED_CODE_MEMORY, None)
        if redirect_uri != grant.request.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri does not match the authorization request")
        if not VERIFIER.fullmatch(verifier) or not hmac.compare_digest(s256(verifier), grant.request.code_challenge):
            raise OAuthError("invalid_grant", "PKCE verification failed (code_verifier)")
        value, token = self.issue_token(grant.request.scope, login=grant.login)
        self.used_codes[code] = (now + USED_CODE_MEMORY, value)
        return value, token

    # -- tokens and clients -----------------------------------------------------------------
    def issue_token(self, scope: str, *, login: str | None = None) -> tuple[str, Token]:
        now = self.clock()
        for old in [t for t, v in self.tokens.items() if v.expires_at < now]:
            del self.tokens[old]
        value = secrets.token_urlsafe(32)
        token = Token(CLIENT_ID, scope, now + TOKEN_TTL, login)
        self.tokens[value] = token
        return value, token

    def bearer(self, value: str) -> Token | None:
        token = self.tokens.get(value)
        if token is None or token.expires_at < self.clock():
            return None
        return token

    def authenticate_client(self, authorization: str | None) -> str:
        """client_secret_basic (RFC 6749 §2.3.1: both parts form-urlencoded before base64)."""
        if not authorization or not authorization[:6].lower() == "basic ":
            raise OAuthError("invalid_client", "client authentication required (client_secret_basic)", 401)
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
            raw_id, raw_secret = decoded.split(":", 1)
        except (ValueError, UnicodeDecodeError):
            raise OAuthError("invalid_client", "malformed Basic credentials", 401) from None
        client_id, secret = unquote(raw_id.replace("+", " ")), unquote(raw_secret.replace("+", " "))
        ok_id = hmac.compare_digest(client_id.encode(), CLIENT_ID.encode())
        ok_secret = hmac.compare_digest(secret.encode(), self._secret.encode())
        if not (ok_id and ok_secret):
            raise OAuthError("invalid_client", "unknown client or wrong secret", 401)
        return client_id
