"""JSON logs carrying the service name, and the request id, trace id and user id of the request
being served (docs/operations.md: following one request through the logs).

What must never be logged: tokens, passwords, patient details. Callers log ids and codes only;
as a safety net, `extra` fields whose name says secret are dropped and anything shaped like a
JWT or a bearer credential is masked.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
user_id_var: ContextVar[str | None] = ContextVar("user_id", default=None)
# The W3C trace id of the request (from its `traceparent`, or the span this service started).
trace_id_var: ContextVar[str | None] = ContextVar("trace_id", default=None)

REQUEST_ID_HEADER = "x-request-id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Attributes every LogRecord has; anything else was passed with `extra=` and is logged.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_SECRET_FIELD = re.compile(r"password|passphrase|secret|token|authorization|cookie|api_?key", re.IGNORECASE)
# Three base64url segments starting with a JSON header ("eyJ"): a JWT; or a bearer credential.
_CREDENTIAL = re.compile(
    r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*|(?i:bearer)\s+[A-Za-z0-9._~+/=-]{8,}"
)


def _masked(value: str) -> str:
    return _CREDENTIAL.sub("[redacted]", value) if ("eyJ" in value or "earer" in value) else value


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": _masked(record.getMessage()),
        }
        if request_id := request_id_var.get():
            entry["request_id"] = request_id
        if trace_id := trace_id_var.get():
            entry["trace_id"] = trace_id
        if user_id := user_id_var.get():
            entry["user_id"] = user_id
        for key, value in vars(record).items():
            if key in _STANDARD or key.startswith("_") or _SECRET_FIELD.search(key):
                continue
            entry[key] = _masked(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = _masked(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # The request middleware writes one access line per request itself.
    logging.getLogger("uvicorn.access").disabled = True
    quiet_libraries()


# Libraries whose lower levels carry what must not be logged: aiosqlite's DEBUG lines hold every
# statement's bound values (patient data), SQLAlchemy's INFO echo likewise; httpx logs every
# outbound request at INFO (the callers log what matters).
NOISY = ("aiosqlite", "sqlalchemy.engine", "sqlalchemy.pool", "httpx", "httpcore", "asyncio", "opentelemetry")


def quiet_libraries() -> None:
    """At most warnings from libraries, whatever LOG_LEVEL says (the services' own lines follow it)."""
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.migration").addFilter(_without_alembic_context_lines)


def _without_alembic_context_lines(record: logging.LogRecord) -> bool:
    """Alembic names its dialect ("Context impl ...", "Will assume ...") each time a migration
    context is made, which `/ready` does on every probe; the lines that say which migration ran stay."""
    return not str(record.msg).startswith(("Context impl", "Will assume"))


def accept_request_id(value: str | None) -> str:
    """The caller's request id when it is safe to log, a fresh one otherwise."""
    if value and _SAFE_REQUEST_ID.match(value):
        return value
    return uuid.uuid4().hex
