"""ASGI middleware every service runs: request id and trace context, access log, metrics,
body size cap, headers."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .logging import REQUEST_ID_HEADER, accept_request_id, request_id_var, trace_id_var, user_id_var
from .tracing import (
    MAX_TRACESTATE,
    TRACEPARENT,
    TRACESTATE,
    current_trace_id,
    trace_id_of,
    traceparent_var,
    tracestate_var,
    untraced,
)

if TYPE_CHECKING:
    from .metrics import ServiceMetrics

access_log = logging.getLogger("access")
# Probes polled every few seconds; /ready stays in the log (tests and operators read its lines).
_QUIET_PATHS = ("/health", "/metrics")
_UNMATCHED = "<unmatched>"


def route_template(scope: Scope) -> str:
    """The path template the router matched (`/prescriptions/{prescription_id}`), never the raw path."""
    # FastAPI records the matched route with the prefix of the router that included it
    # (`/graphql`); `scope["route"]` alone is the route as its own router declared it ("").
    effective = (scope.get("fastapi") or {}).get("effective_route_context")
    path = getattr(effective, "path_format", None)
    if not path:
        route = scope.get("route")
        path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path if isinstance(path, str) and path else _UNMATCHED


class RequestContextMiddleware:
    """Gives each request an id (the caller's when safe) and its trace context, logs it once,
    counts and times it, echoes the id back, and adds the security headers every response carries."""

    def __init__(self, app: ASGIApp, hsts: bool = False, metrics: ServiceMetrics | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.security_headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
        ]
        if hsts:
            self.security_headers.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        request_id = accept_request_id(headers.get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1"))
        scope.setdefault("state", {})["request_id"] = request_id
        traceparent = headers.get(TRACEPARENT.encode(), b"").decode("latin-1").strip()
        incoming_trace_id = trace_id_of(traceparent)
        tracestate = headers.get(TRACESTATE.encode(), b"").decode("latin-1")
        tracestate = tracestate if len(tracestate) <= MAX_TRACESTATE else ""  # never cut a member in two
        tokens = (
            request_id_var.set(request_id),
            user_id_var.set(None),
            # The span FastAPI started for this request when tracing is on, else the caller's trace.
            trace_id_var.set(current_trace_id() or incoming_trace_id),
            traceparent_var.set(traceparent if incoming_trace_id else None),
            tracestate_var.set(tracestate if incoming_trace_id and tracestate else None),
        )
        started = time.perf_counter()
        status = 500
        metrics = self.metrics
        if metrics is not None:
            metrics.in_flight.inc()
        error_body: list[bytes] | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status, error_body
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                if metrics is not None and status >= 400 and _is_problem(headers):
                    error_body = []  # read its `code` for the error counter (problem bodies are small)
                # Responses hold patient data unless a route says otherwise (the JWKS does):
                # no shared cache may keep them.
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = [
                    *headers,
                    (REQUEST_ID_HEADER.encode(), request_id.encode()),
                    *self.security_headers,
                ]
            elif message["type"] == "http.response.body" and error_body is not None:
                error_body.append(message.get("body", b""))
            await send(message)

        try:
            with untraced(scope["path"]):
                await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            if metrics is not None:
                metrics.in_flight.dec()
                code = _problem_code(error_body) if error_body is not None else None
                if code is None and status >= 500 and error_body is None:
                    code = "INTERNAL_SERVER_ERROR"  # an exception the error handler answers outside
                metrics.observe_request(scope["method"], route, status, elapsed, code)
            if scope["path"] not in _QUIET_PATHS:
                access_log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            for var, token in zip(
                (request_id_var, user_id_var, trace_id_var, traceparent_var, tracestate_var), tokens, strict=True
            ):
                var.reset(token)


def _is_problem(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(
        name.lower() == b"content-type" and value.startswith(b"application/problem+json") for name, value in headers
    )


def _problem_code(chunks: list[bytes]) -> str | None:
    from .metrics import problem_code

    return problem_code(b"".join(chunks))


class BodySizeLimitMiddleware:
    """Refuses bodies over `max_bytes` with 413 before anything parses them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _too_large(send)
            return
        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not response_started:
                await _too_large(send)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send) -> None:
    from .problem import problem_bytes

    body = problem_bytes(413, "PAYLOAD_TOO_LARGE", "Payload too large", "The request body is too large.")
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
