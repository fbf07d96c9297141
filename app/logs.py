"""Logging set-up: one JSON object per line with the request id, and no secrets.

Access-log lines keep the path but replace the values of parameters that carry codes,
tokens or hints (RFC 9700 §4.2.4: credentials leak through logs), and the path segments that
are bearer capabilities themselves (:data:`SECRET_PATHS`), whatever logger emits them.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from app.middleware import request_id_var

SENSITIVE = (
    "code",
    "access_token",
    "refresh_token",
    "id_token",
    "id_token_hint",
    "token",
    "logout_token",
    "interaction",
    "request",
    "request_uri",
    "client_secret",
    "client_assertion",
    "password",
    "otp",
    "state",
    "nonce",
    "code_verifier",
    "tx_code",
    "pre-authorized_code",
    "login_hint",
    "credential_offer",
    "credential_offer_uri",
)
_PARAM = re.compile(r"(?P<key>[?&](?:" + "|".join(re.escape(k) for k in SENSITIVE) + r")=)[^&\s\"']*")

#: Paths whose next segment grants something to whoever knows it: the credential offer (it hands
#: out the pre-authorized code, OpenID4VCI §4.1.3) and the gate's presentation request (its id
#: fetches the request's nonce and state and lets its holder answer it, OpenID4VP §5.7, §8.2).
SECRET_PATHS = ("/wallet/offers/", "/gate/requests/", "/gate/responses/")
_SLASH = "(?:/|%2[fF])"  # also inside a URL-encoded URL
_PATH = re.compile(
    "(?P<prefix>"
    + "|".join(_SLASH + _SLASH.join(re.escape(p) for p in path.strip("/").split("/")) + _SLASH for path in SECRET_PATHS)
    + r")[^/?#&\s\"'%]+"
)


def redact(text: str) -> str:
    text = _PATH.sub(lambda m: m.group("prefix") + "[redacted]", text)
    return _PARAM.sub(lambda m: m.group("key") + "[redacted]", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


class FreezeArgs(logging.Filter):
    """authlib logs the token dict it later fills with real tokens; render the message at once,
    redacted, so no handler that formats later can see them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


def protect_library_loggers() -> None:
    logger = logging.getLogger("authlib")
    if not any(isinstance(f, FreezeArgs) for f in logger.filters):
        logger.addFilter(FreezeArgs())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": request_id_var.get(),
        }
        audit = getattr(record, "audit", None)
        if isinstance(audit, dict):
            entry["audit"] = audit
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: str = "INFO", *, json_lines: bool = True) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn and the app (used by ``genba serve``)."""
    formatter = {"()": JsonFormatter} if json_lines else {"format": "%(levelname)s %(name)s %(message)s"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactingFilter}},
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",  # a name, not the object: uvicorn pickles this for each worker
                "formatter": "default",
                "filters": ["redact"],
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": ["stderr"], "level": level, "propagate": False},
        },
    }


def install_filter() -> None:
    """Attach the redacting filter to every handler of the root and uvicorn loggers (tests, embedded use)."""
    for name in ("", "uvicorn", "uvicorn.access", "uvicorn.error", "genba"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
