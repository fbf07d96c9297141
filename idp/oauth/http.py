"""Reading protocol requests strictly: UTF-8 only, each parameter at most once (RFC 6749 §3.1, §3.2:
"Request and response parameters MUST NOT be included more than once")."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

from common.errors import GenbaError

#: RFC 6749 Appendix B; defined here, not taken from idp.web.forms, so the protocol imports nothing of the
#: pages (idp/web/__init__.py imports the protocol routes: that import was a circle, idp.oauth.http first failed)
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_PARAMS = 60
MAX_VALUE = 16384


class ProtocolError(GenbaError, ValueError):
    """A protocol request that cannot be read: RFC 6749 §5.2 ``error`` (usually ``invalid_request``)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description, code=error, status=status)


def _pairs(raw: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, encoding="utf-8", errors="strict", max_num_fields=MAX_PARAMS)
    except UnicodeDecodeError:
        raise ProtocolError("invalid_request", "parameters must be UTF-8") from None
    except ValueError:
        raise ProtocolError("invalid_request", "too many parameters") from None
    out: dict[str, str] = {}
    for key, value in pairs:
        if key in out:
            raise ProtocolError("invalid_request", f"parameter {key[:40]} is repeated")
        if "\x00" in key or "\x00" in value:  # RFC 6749 Appendix A: no parameter holds NUL (nor can PostgreSQL)
            raise ProtocolError("invalid_request", "parameters must not contain NUL characters")
        if len(value) > MAX_VALUE:
            raise ProtocolError("invalid_request", f"parameter {key[:40]} is too long")
        out[key] = value
    return out


def query_params(request: Request) -> dict[str, str]:
    raw = request.scope.get("query_string", b"")
    try:
        return _pairs(raw.decode("ascii"))
    except UnicodeDecodeError:
        raise ProtocolError("invalid_request", "the query is not valid") from None


async def form_params(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise ProtocolError("invalid_request", f"content type must be {FORM_TYPE}")
    body = await request.body()
    try:
        return _pairs(body.decode("ascii"))
    except UnicodeDecodeError:
        raise ProtocolError("invalid_request", "the body is not valid form encoding") from None
