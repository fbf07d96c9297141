"""Logging set-up: one JSON object per line with the request id, and no secrets.

Access-log lines keep the path but replace the values of parameters that carry codes,
tokens or hints (RFC 9700 §4.2.4: credentials leak through logs), and the path segments that
are bearer capabilities themselves (:data:`SECRET_PATHS`), whatever logger emits them.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.middleware import REQUEST_ID_KEY, request_id_var

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
    if "=" not in text and "wallet" not in text and "gate" not in text:
        return text  # neither pattern can match (a parameter needs "=", a secret path its first segment)
    text = _PATH.sub(lambda m: m.group("prefix") + "[redacted]", text)
    return _PARAM.sub(lambda m: m.group("key") + "[redacted]", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "redacted", False):
            return True  # an access line, redacted when it was written (AccessLogMiddleware)
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


_second: tuple[int, str] = (-1, "")


def iso_time(created: float) -> str:
    """ISO 8601 UTC with microseconds; the date and time to the second are formatted once a second."""
    global _second
    second = int(created)
    cached = _second
    if cached[0] != second:
        cached = _second = (second, datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{cached[1]}.{int((created - second) * 1_000_000):06d}+00:00"


class JsonFormatter(logging.Formatter):
    """One JSON object per line, serialised with orjson (UTF-8 as is, no spaces)."""

    def format(self, record: logging.LogRecord) -> str:
        access = getattr(record, "access", None)
        entry: dict[str, Any] = {
            "time": iso_time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.msg if getattr(record, "redacted", False) else redact(record.getMessage()),
            "request_id": access["request_id"] if isinstance(access, dict) else request_id_var.get(),
        }
        if isinstance(access, dict):
            entry["access"] = access
        audit = getattr(record, "audit", None)
        if isinstance(audit, dict):
            entry["audit"] = audit
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return orjson.dumps(entry, default=str).decode()


ACCESS = logging.getLogger("genba.access")


class AccessLogMiddleware:
    """The access log: one record per HTTP request on the ``genba.access`` logger, written once the
    answer is sent, for the protocol front and FastAPI alike (it replaces uvicorn's access log, which
    ``app/workers.py`` turns off). The line is built and redacted here, once (:func:`redact`: RFC 9700
    §4.2.4, no codes or tokens in logs); the request id is the one ``SecurityHeadersMiddleware`` gave
    the request. The line is written just before the answer's last body chunk is sent (or, when no
    answer went out, once the error escaped). Nothing is built when the logger is not enabled for INFO."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not ACCESS.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the last resort answers when an error escapes (app/error_handlers.py)
        logged = False

        async def tracking(message: Message) -> None:
            nonlocal status, logged
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False) and not logged:
                # written before the last of the body goes out, so the line is in the log by the time the
                # client has the whole answer (a reader of the log right after it never misses it)
                logged = True
                ACCESS.handle(access_record(scope, status, time.perf_counter() - started))
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        finally:
            if not logged:
                ACCESS.handle(access_record(scope, status, time.perf_counter() - started))


def access_record(scope: Scope, status: int, seconds: float) -> logging.LogRecord:
    """The access line as uvicorn wrote it (``client - "METHOD /path?query HTTP/1.1" status``),
    redacted, with the same facts as fields."""
    target = scope.get("raw_path") or scope["path"].encode()
    path = target.decode("latin-1")
    if scope.get("query_string"):
        path += "?" + scope["query_string"].decode("latin-1")
    path = redact(path.replace('"', "%22"))
    client = scope.get("client")
    address = f"{client[0]}:{client[1]}" if client else "-"
    line = f'{address} - "{scope["method"]} {path} HTTP/{scope.get("http_version", "1.1")}" {status}'
    return AccessRecord(
        line,
        {
            "request_id": scope.get(REQUEST_ID_KEY, "-"),
            "method": scope["method"],
            "path": path,
            "status": status,
            "ms": round(seconds * 1000, 3),
        },
    )


class AccessRecord(logging.LogRecord):
    """A ``LogRecord`` with every attribute a formatter may read, set directly: the standard
    constructor's look-ups (caller's file and module names, thread and process names) cost more
    than the rest of the access line. ``redacted``: the message needs no further redaction."""

    redacted = True

    def __init__(self, line: str, access: dict[str, Any]) -> None:
        now = time.time()
        self.name, self.msg, self.args, self.access = ACCESS.name, line, None, access
        self.levelname, self.levelno = "INFO", logging.INFO
        self.pathname, self.filename, self.module, self.lineno, self.funcName = __file__, "logs.py", "logs", 0, ""
        self.exc_info = self.exc_text = self.stack_info = None
        self.created, self.msecs = now, (now % 1) * 1000
        self.relativeCreated = (now - _STARTED) * 1000
        self.thread, self.threadName = threading.get_ident(), None
        self.process, self.processName, self.taskName = _PID, None, None


_STARTED = time.time()
_PID = os.getpid()


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
            # the application's own access log (AccessLogMiddleware); uvicorn's is turned off
            "genba.access": {"handlers": ["stderr"], "level": level, "propagate": False},
        },
    }


def install_filter() -> None:
    """Attach the redacting filter to every handler of the root and uvicorn loggers (tests, embedded use)."""
    for name in ("", "uvicorn", "uvicorn.access", "uvicorn.error", "genba"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
