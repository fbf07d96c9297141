"""RFC 9396 Rich Authorization Requests: parsing ``authorization_details`` and the hook through which
the consent engine validates and grants them (wired by ``app``)."""

from __future__ import annotations

import json
from typing import Any, Protocol

from common.errors import GenbaError
from idp.models import Account
from idp.oauth.clients import RegisteredClient


class DetailsError(GenbaError, ValueError):
    """RFC 9396 §5: ``invalid_authorization_details``."""

    code = "invalid_authorization_details"
    status = 400


class DetailsHandler(Protocol):
    def validate(
        self, entries: list[dict[str, Any]], client: RegisteredClient, scopes: list[str]
    ) -> list[dict[str, Any]]:
        """Normalised entries (including any implied by ``scopes``), or ``DetailsError``."""
        ...

    def grant(self, entries: list[dict[str, Any]], client: RegisteredClient, account: Account) -> list[dict[str, Any]]:
        """The user approved: record the approval and return the entries as granted (with references)."""
        ...

    def still_valid(self, entries: list[dict[str, Any]]) -> bool:
        """False once anything the entries rely on was withdrawn (token checks)."""
        ...


def parse(value: str | None) -> list[dict[str, Any]]:
    """RFC 9396 §2: a JSON array of objects, each with a string ``type``."""
    if not value:
        return []
    try:
        entries = json.loads(value)
    except ValueError:
        raise DetailsError("authorization_details is not JSON") from None
    if (
        not isinstance(entries, list)
        or not entries
        or not all(isinstance(e, dict) and isinstance(e.get("type"), str) for e in entries)
    ):
        raise DetailsError("authorization_details must be a non-empty array of objects with a type")
    return entries


class NoDetails:
    """Used when nothing is wired: every authorization_details type is unknown."""

    def validate(
        self, entries: list[dict[str, Any]], client: RegisteredClient, scopes: list[str]
    ) -> list[dict[str, Any]]:
        if entries:
            raise DetailsError("unsupported authorization_details type")
        return []

    def grant(self, entries: list[dict[str, Any]], client: RegisteredClient, account: Account) -> list[dict[str, Any]]:
        return []

    def still_valid(self, entries: list[dict[str, Any]]) -> bool:
        return True
