"""RFC 9457 problem details for every error a REST route can end in."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .errors import AppError

log = logging.getLogger(__name__)

PROBLEM_TYPE_BASE = "https://healthcare.example/problems/"
MEDIA_TYPE = "application/problem+json"

_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def problem_document(status: int, code: str, title: str, detail: str, **extra: Any) -> dict:
    return {
        "type": PROBLEM_TYPE_BASE + code.lower().replace("_", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }


def problem_bytes(status: int, code: str, title: str, detail: str) -> bytes:
    return json.dumps(problem_document(status, code, title, detail)).encode()


def problem_response(
    status: int, code: str, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(
        problem_document(status, code, title, detail, **extra),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def validation_errors(errors: Iterable[Mapping[str, Any]]) -> list[dict]:
    """Pydantic's errors without the rejected input: it may be a password."""
    return [
        {
            "loc": [str(part) for part in error.get("loc", ())],
            "msg": error.get("msg", ""),
            "type": error.get("type", ""),
        }
        for error in errors
    ]


async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
    headers = {}
    retry_after = exc.extensions.get("retry_after")
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return problem_response(exc.status, exc.code, exc.title, exc.detail, headers or None, **exc.extensions)


async def _request_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
    return problem_response(
        422,
        "VALIDATION_ERROR",
        "Validation failed",
        "The request does not match the expected shape.",
        errors=validation_errors(list(exc.errors())),
    )


async def _http_exception(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
    detail = exc.detail if isinstance(exc.detail, str) else "Request refused."
    return problem_response(exc.status_code, code, detail, detail, dict(exc.headers or {}) or None)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return problem_response(500, "INTERNAL_SERVER_ERROR", "Unexpected error", "Unexpected error.")


def install_problem_handlers(app: FastAPI) -> None:
    # Starlette calls each handler only with its own exception class, but types the handler as taking
    # any Exception, so a handler narrowed to its class does not match.
    app.add_exception_handler(AppError, _app_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _request_validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_exception)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
