"""Authorization responses: ``response_mode`` query or form_post, always with ``iss`` (RFC 9207)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

RESPONSE_MODES = ("query", "form_post")


@dataclass(frozen=True)
class RedirectBack:
    """Send the browser back to the client: ``mode`` query (302) or form_post (auto-submitted form)."""

    redirect_uri: str
    params: list[tuple[str, str]]
    mode: str = "query"

    def location(self) -> str:
        parts = urlsplit(self.redirect_uri)
        query = parse_qsl(parts.query, keep_blank_values=True) + self.params
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def redirect_back(
    redirect_uri: str, params: list[tuple[str, str]], *, issuer: str, mode: str | None, state: str | None
) -> RedirectBack:
    """RFC 9207 §2: ``iss`` in every authorization response, success or error."""
    values = [(k, v) for k, v in params if k not in ("iss", "state")]
    if state is not None:
        values.append(("state", state))
    values.append(("iss", issuer))
    return RedirectBack(redirect_uri, values, mode if mode in RESPONSE_MODES else "query")


def params_from_location(location: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(location).query, keep_blank_values=True)
