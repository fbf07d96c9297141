"""Subject identifiers and standard claims (OpenID Connect Core 1.0 §5.1, §5.4, §8).

Pairwise subjects are ``SHA-256(sector || local id || salt)`` (§8.1), so two relying parties in
different sectors cannot correlate a technician without consent.

One disclosure path (docs/domain.md rule 1, issue 12 hole 2): this module states claims only about
accounts that are not technicians (employer staff, operators: their own work details). Every claim
about a technician, standard ones included, is decided by the consent engine and recorded; the
application wires that release (``register.claims``) into userinfo and the ID token. Without it a
technician's claims simply do not leave: nothing here falls back to the register.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from sqlmodel import Session

from idp import accounts
from idp.models import Account, AccountKind
from idp.oauth.clients import RegisteredClient
from idp.oauth.redirect_uris import LOOPBACK_HOSTS

# Scope → claims (§5.4). CCUS data scopes are not offered until the consent engine releases them.
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": ("name", "family_name", "given_name", "name#ja-Kana-JP", "gender", "birthdate", "locale", "updated_at"),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
    "address": ("address",),
}
SUPPORTED_CLAIMS = (
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "sid",
    "at_hash",
    *(c for group in SCOPE_CLAIMS.values() for c in group),
    "ccus",  # the consent engine's release for the ccus.* scopes (register.claims)
    "ccus_withheld",
)


def subject_for(account: Account, client: RegisteredClient, *, salt: bytes) -> str:
    """Public subject, or the pairwise one for the client's sector (OIDC Core §8.1)."""
    assert account.subject is not None
    if client.row.subject_type != "pairwise":
        return account.subject
    sector = client.row.sector_identifier or ""
    if sector in LOOPBACK_HOSTS:
        # a native client registered before per-client sectors: its loopback host is shared by
        # every native app, so its sector is the client itself (OIDC Core §8.1, issue 12 item 8)
        sector = f"client:{client.client_id}"
    digest = hashlib.sha256(sector.encode() + b"\x00" + account.subject.encode() + b"\x00" + salt).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def split_name(name: str) -> tuple[str, str]:
    """Family and given name from ``"姓 名"`` (full-width space allowed)."""
    parts = name.replace("\u3000", " ").split()
    return (parts[0], " ".join(parts[1:])) if len(parts) > 1 else (name, "")


def account_claims(session: Session, account: Account) -> dict[str, Any]:
    """Every standard claim we can state about a staff or operator account, before scope filtering.

    A technician account gets nothing here: its claims are the consent engine's to release
    (``register.claims``), so a scope alone never carries a technician's data anywhere."""
    assert account.id is not None
    if account.kind == AccountKind.technician:
        return {}
    claims: dict[str, Any] = {
        "name": account.display_name,
        "locale": "ja-JP",
        "updated_at": int(account.password_changed_at.timestamp()),
    }
    if account.email:
        claims["email"] = account.email
        claims["email_verified"] = False
    staff = (
        accounts.staff_for_account(session=session, account_id=account.id)
        if account.kind == AccountKind.staff
        else None
    )
    if staff is not None:
        employer = staff[1]
        claims["phone_number"] = employer.phone
        claims["phone_number_verified"] = False
        claims["address"] = {"formatted": employer.address, "country": "JP"}
    return claims


def requested_claim_names(claims_param: dict[str, Any] | None, target: str) -> set[str]:
    """Names asked for in the ``claims`` request parameter for ``userinfo`` or ``id_token`` (§5.5)."""
    if not claims_param:
        return set()
    section = claims_param.get(target)
    return set(section) if isinstance(section, dict) else set()


def wanted_claims(scope: str, extra: set[str]) -> set[str]:
    """The standard claim names ``scope`` asks for (§5.4), plus those asked for individually (§5.5)."""
    names: set[str] = set(extra)
    for s in scope.split():
        names.update(SCOPE_CLAIMS.get(s, ()))
    if "profile" in scope.split():
        names.update(("family_name#ja-Kana-JP", "given_name#ja-Kana-JP"))
    return names


def release(all_claims: dict[str, Any], *, scope: str, extra: set[str]) -> dict[str, Any]:
    """Claims allowed by ``scope`` plus individually requested ones that scope permits the user approved."""
    names = wanted_claims(scope, extra)
    return {k: v for k, v in all_claims.items() if k in names}


def parse_claims_param(value: str | None) -> dict[str, Any] | None:
    """Parse the ``claims`` parameter (§5.5); ``ValueError`` if it is not a JSON object of objects."""
    if not value:
        return None
    parsed = json.loads(value)
    if not isinstance(parsed, dict) or any(
        k not in ("userinfo", "id_token") or not isinstance(v, dict) for k, v in parsed.items()
    ):
        raise ValueError("claims must be a JSON object with userinfo and/or id_token members")
    return parsed
