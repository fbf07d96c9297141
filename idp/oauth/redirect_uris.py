"""Redirect URIs (RFC 6749 §3.1.2, RFC 8252 §7.3, RFC 9700 §2.1): how one is checked when a client
registers it, and how a redirect URI of a request is matched against the registered ones."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from common.messages import message
from idp.validation import FieldProblem


def _loopback_parts(uri: str) -> tuple[str, str, str] | None:
    """(host, path, query) of a plain ``http`` loopback IP URI, or ``None`` for anything else:
    userinfo, backslashes, fragments and non-loopback hosts never qualify (RFC 3986 §3.2.1)."""
    if "\\" in uri or "#" in uri or "@" in uri:
        return None
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return None
    if parts.scheme != "http" or parts.username is not None or parts.password is not None:
        return None
    if parts.hostname not in ("127.0.0.1", "::1"):
        return None
    return parts.hostname, parts.path, parts.query


def redirect_uri_matches(given: str, registered: list[str]) -> bool:
    """Exact string match (RFC 9700 §2.1); a registered loopback IP redirect may be used with any
    port (RFC 8252 §7.3), host, path and query otherwise identical."""
    if given in registered:
        return "#" not in given
    asked = _loopback_parts(given)
    if asked is None:
        return False
    return any(_loopback_parts(uri) == asked for uri in registered)


#: a DNS host name (RFC 1123 §2.1 labels; ``_`` tolerated as many resolvers do), lower or upper case
_LABEL = r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$)({_LABEL}\.)*[A-Za-z0-9]([A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?\.?$")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def _well_formed(uri: str, field: str) -> None:
    """An absolute URI as RFC 3986 §3 writes it: no spaces, controls or backslashes, a port within
    0-65535, a host that is an IP literal or a DNS name, no user information (issue 12 item 8)."""
    bad = FieldProblem(field, message("field.uri_malformed", uri=uri[:200]))
    if not isinstance(uri, str) or not uri or len(uri) > 2000:
        raise bad
    if any(c.isspace() or ord(c) < 0x21 or ord(c) == 0x7F or c in '\\<>"{}|^`' for c in uri):
        raise bad
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0-65535
    except ValueError:
        raise bad from None
    if not parts.scheme or not parts.netloc or not parts.hostname or "@" in parts.netloc:
        raise bad
    if parts.netloc.endswith(":"):
        raise bad
    host = parts.hostname
    if parts.netloc.startswith("[") or ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise bad from None
    elif not _HOST_NAME.match(host):
        raise bad


def check_redirect_uri_registration(uri: str, *, field: str = "redirect_uris") -> str:
    """https only, except loopback for native apps (RFC 8252 §7.3); no fragment (RFC 6749 §3.1.2);
    well-formed (a port such as 99999 or a user-info part is refused, issue 12 item 8)."""
    _well_formed(uri, field)
    parts = urlsplit(uri)
    if parts.fragment or "#" in uri:
        raise FieldProblem(field, message("field.uri_fragment"))
    if parts.scheme == "https" and parts.hostname:
        return uri
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return uri
    raise FieldProblem(field, message("field.uri_https", uri=uri))
