"""W3C trace context on every hop; OpenTelemetry tracing when an OTLP endpoint is configured.

Off (the default, no `OTEL_EXPORTER_OTLP_ENDPOINT`): nothing of the OpenTelemetry SDK or of
an instrumentation is imported or installed, and no span is created. A request's incoming
`traceparent`/`tracestate` are still forwarded unchanged on the service's own calls (what W3C
Trace Context asks of a participant that does not trace), and its trace id is logged, so a
trace started by the router or a client stays joined across this service.

On: each app gets its own `TracerProvider` (service.name = the service; tests build several
apps in one process, so nothing global is set) exporting over OTLP HTTP/protobuf in batches;
FastAPI's own OpenTelemetry support makes the server span of each request (the incoming
`traceparent` is its parent); SQLAlchemy statements and the service's pooled httpx clients
get client spans; the outgoing `traceparent` names the current span.

Spans carry routes, statuses, SQL with placeholders (never bound values), GraphQL operation
names and types: no tokens, no patient data. Probes (`/health`, `/ready`, `/metrics`) are not
traced.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:  # a type only: the telemetry package is imported by FastAPI itself when used
    from fastapi.telemetry import TelemetryConfig

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
UNTRACED_PATHS = frozenset({"/health", "/ready", "/metrics"})

# What the request being served brought: forwarded as is when this process does not trace.
traceparent_var: ContextVar[str | None] = ContextVar("traceparent", default=None)
tracestate_var: ContextVar[str | None] = ContextVar("tracestate", default=None)

_TRACEPARENT_PATTERN = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
MAX_TRACESTATE = 512  # a longer incoming `tracestate` is dropped, not passed on

# Set once any app of this process traces; until then no OpenTelemetry call is made per request.
_active = False


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id of a valid version-00 `traceparent`, else None (an invalid one is dropped)."""
    if not traceparent:
        return None
    match = _TRACEPARENT_PATTERN.match(traceparent.strip())
    if match is None:
        return None
    version, trace_id, parent_id, _flags = match.groups()
    if version == "ff" or trace_id == "0" * 32 or parent_id == "0" * 16:
        return None
    return trace_id


def current_trace_id() -> str | None:
    """The trace id of the span being recorded now, when this process traces."""
    if not _active:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def outgoing_trace_headers() -> dict[str, str]:
    """`traceparent` (and `tracestate`) for a call made while serving the current request."""
    if _active:
        from opentelemetry import propagate, trace

        if trace.get_current_span().get_span_context().is_valid:
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            if TRACEPARENT in carrier:
                return carrier
    headers = {}
    if traceparent := traceparent_var.get():
        headers[TRACEPARENT] = traceparent
        if tracestate := tracestate_var.get():
            headers[TRACESTATE] = tracestate
    return headers


def untraced(path: str) -> contextlib.AbstractContextManager[object]:
    """Around a probe's handling: no span at all, not even for the SQL its checks run
    (without this each `/ready` poll would leave parentless statement spans)."""
    if not _active or path not in UNTRACED_PATHS:
        return contextlib.nullcontext()
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    return suppress_instrumentation()


def annotate_operation(operation_type: str, operation_name: str) -> None:
    """Names the GraphQL operation on the request's server span (when tracing)."""
    if not _active:
        return
    from opentelemetry import trace

    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute("graphql.operation.type", operation_type)
        span.set_attribute("graphql.operation.name", operation_name)


class TracingSettings(BaseSettings):
    """The standard OpenTelemetry variables this service honours (read when an app is built;
    tests pass them by name: `TracingSettings(OTEL_EXPORTER_OTLP_ENDPOINT=...)`)."""

    # Only the OTEL_* names: a field name such as `disabled` must not be read from the environment.
    model_config = SettingsConfigDict(extra="ignore")

    # Base URL of an OTLP/HTTP receiver (a collector, Jaeger, Tempo): spans go to `<base>/v1/traces`.
    endpoint: str | None = Field(None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT")
    # The full URL for traces, when it is not `<base>/v1/traces`.
    traces_endpoint: str | None = Field(None, validation_alias="OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    disabled: bool = Field(False, validation_alias="OTEL_SDK_DISABLED")
    # Share of new traces recorded (a parent's decision is always followed).
    sample_ratio: float = Field(1.0, ge=0.0, le=1.0, validation_alias="OTEL_TRACES_SAMPLER_ARG")
    # Milliseconds between two batch exports.
    export_delay_ms: int = Field(2000, gt=0, validation_alias="OTEL_BSP_SCHEDULE_DELAY")

    @property
    def traces_url(self) -> str | None:
        if self.disabled:
            return None
        if self.traces_endpoint:
            return self.traces_endpoint
        if self.endpoint:
            return f"{self.endpoint.rstrip('/')}/v1/traces"
        return None

    @property
    def enabled(self) -> bool:
        return self.traces_url is not None


OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False, "auto_configure": False}
"""`FastAPI(telemetry=OFF)`: FastAPI's own OpenTelemetry support stays out of the request path,
even if something else in the process set a global tracer provider."""


def _untraced(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in UNTRACED_PATHS


class Tracing:
    """One service's tracer provider, exporter and instrumentations (only built when enabled)."""

    def __init__(self, service: str, settings: TracingSettings) -> None:
        global _active
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

        assert settings.traces_url is not None
        self.service = service
        self.url = settings.traces_url
        self.provider = TracerProvider(
            resource=Resource.create({"service.name": service, "service.namespace": "healthcare"}),
            sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio)),
            shutdown_on_exit=False,
        )
        self.provider.add_span_processor(
            BatchSpanProcessor(
                OTLPSpanExporter(endpoint=self.url, timeout=5), schedule_delay_millis=settings.export_delay_ms
            )
        )
        # Keeps the engines' tracers referenced for the app's life.
        self._engine_tracers: list[Any] = []
        _active = True

    def fastapi_telemetry(self) -> TelemetryConfig:
        """`FastAPI(telemetry=...)`: server spans from this app's provider, nothing else."""
        return {
            "tracer_provider": self.provider,
            "tracing": True,
            "metrics": False,  # Prometheus has them (kit/metrics.py)
            "logs": False,
            "operation_spans": True,  # dependency resolution, endpoint, serialization
            "auto_configure": False,
            "exclude": _untraced,
        }

    def instrument_database(self, engine) -> None:
        """Client spans for each statement of this engine (an async engine's sync core)."""
        from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
        from opentelemetry.metrics import NoOpMeterProvider

        tracer = self.provider.get_tracer("opentelemetry.instrumentation.sqlalchemy")
        # The instrumentation's connection-usage metric: Prometheus has the pool (kit/metrics.py).
        unused = NoOpMeterProvider().get_meter("unused").create_up_down_counter("db.client.connections.usage")
        # Per engine, not SQLAlchemyInstrumentor().instrument(): that patches create_engine for
        # the whole process, and tests build many apps with different providers in one.
        self._engine_tracers.append(EngineTracer(tracer, engine.sync_engine, unused))

    def instrument_http_client(self, client: httpx.AsyncClient) -> None:
        """Client spans for this client's calls; their `traceparent` names the client span."""
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=self.provider)

    async def shutdown(self) -> None:
        """Exports what is left (bounded by the exporter's timeout) and stops the exporter."""
        await asyncio.to_thread(self.provider.shutdown)


def tracing_for(service: str, settings: TracingSettings | None) -> Tracing | None:
    settings = settings if settings is not None else TracingSettings()
    return Tracing(service, settings) if settings.enabled else None
