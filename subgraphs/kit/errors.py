"""One exception hierarchy for every subgraph.

Services raise these; the REST adapter renders them as RFC 9457 problem details
(`kit.problem`) and the GraphQL adapter puts the same `code` into
`errors[].extensions` (`kit.graphql`). A subclass only says what it means.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "BAD_REQUEST"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        self.detail = detail or self.title
        # Extra members of the problem document (and of GraphQL `extensions`).
        self.extensions = extensions
        super().__init__(self.detail)


class Unauthenticated(AppError):
    status = 401
    code = "UNAUTHENTICATED"
    title = "Authentication required"


class Forbidden(AppError):
    status = 403
    code = "FORBIDDEN"
    title = "Forbidden"


class NotFound(AppError):
    status = 404
    code = "NOT_FOUND"
    title = "Not found"


class Conflict(AppError):
    status = 409
    code = "CONFLICT"
    title = "Conflict"


class ValidationFailed(AppError):
    status = 422
    code = "VALIDATION_ERROR"
    title = "Validation failed"

    def __init__(self, detail: str | None = None, errors: list[dict[str, Any]] | None = None):
        super().__init__(detail, errors=errors or [])


class UnprocessableRule(AppError):
    """A well-formed request that breaks a business rule (422 with its own code)."""

    status = 422
    code = "UNPROCESSABLE"
    title = "Request breaks a rule"


class TooManyRequests(AppError):
    status = 429
    code = "TOO_MANY_REQUESTS"
    title = "Too many requests"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail or "Too many attempts; try again later.", retry_after=retry_after)
        self.retry_after = retry_after


class PayloadTooLarge(AppError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"
    title = "Payload too large"


class DependencyUnavailable(AppError):
    status = 503
    code = "DEPENDENCY_UNAVAILABLE"
    title = "A service this request needs is unavailable"


class InternalError(AppError):
    status = 500
    code = "INTERNAL_SERVER_ERROR"
    title = "Unexpected error"
