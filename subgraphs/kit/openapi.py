"""Error answers in the OpenAPI documents: every status a route can answer is documented, as
`application/problem+json` with the problem-details schema (RFC 9457), so that clients (and the
fuzzers in tests/fuzz, which hold every response to the document) know what to expect.

    router = APIRouter(tags=["things"], responses=problems(401, 422))
    @router.get("/things/{id}", responses=problems({404: "NOT_FOUND: no such thing"}))

Listing 422 also stops FastAPI from documenting its own `HTTPValidationError` shape, which
this API never sends (validation errors are problem documents with `errors`).
"""

from __future__ import annotations

from typing import Any

PROBLEM_MEDIA_TYPE = "application/problem+json"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details; `code` is stable, other members depend on it.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "VALIDATION_ERROR: what was wrong, where (never the rejected value).",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": "string"}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
        "retry_after": {"type": "integer", "description": "TOO_MANY_REQUESTS: seconds, as in Retry-After."},
    },
    "additionalProperties": True,
}

# FastAPI answers 400 (before authentication) when a body's bytes cannot even be decoded.
UNREADABLE_BODY = {400: "BAD_REQUEST: the body cannot be read (bytes that are not UTF-8 text)"}

RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}}}

DEFAULT_DESCRIPTIONS = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED: no token, or an invalid, expired or revoked one",
    403: "FORBIDDEN: the caller's role may never do this",
    404: "NOT_FOUND: no such record, or not one the caller may see",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    422: "VALIDATION_ERROR: the request does not match the expected shape",
    429: "TOO_MANY_REQUESTS: over a rate limit; see Retry-After",
    503: "DEPENDENCY_UNAVAILABLE: a service this request needs cannot answer; nothing was written",
}


def problem(description: str, *, retry_after: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}}}
    if retry_after:
        response["headers"] = RETRY_AFTER
    return response


def problems(*statuses: int | dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for FastAPI: each status a problem document; a dict gives its own descriptions."""
    responses: dict[int | str, dict[str, Any]] = {}
    for item in statuses:
        described = item if isinstance(item, dict) else {item: DEFAULT_DESCRIPTIONS[item]}
        for status, description in described.items():
            responses[status] = problem(description, retry_after=status in (429, 503))
    return responses
