"""Prometheus metrics of one service, served at `/metrics` (docs/operations.md says what each
means and which alerts to set).

One `CollectorRegistry` per app (tests build many apps in one process; the library's global
registry would mix them). What is counted where:

- HTTP requests by method, route template (`/prescriptions/{prescription_id}`, never the raw
  path: ids would make a series per record) and status; latency histograms; requests in flight
  (`RequestContextMiddleware`);
- error answers by their problem `code` (`http_errors_total`) and GraphQL errors by
  `extensions.code` (`graphql_errors_total`);
- GraphQL operations by type and name, with latency (`GraphQLMetrics`, a Strawberry extension);
- the database pools (checked out, size, most allowed), read at scrape time;
- outbound calls of each `ServiceClient` by dependency and outcome, with latency, and each
  circuit breaker's state (read from `breaker.snapshot()` at scrape time);
- the audit trail's queue of read events not yet written.

Label values are bounded: operation names a client chose are checked and capped (`other`),
unknown paths are `<unmatched>`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from strawberry.extensions import SchemaExtension

from .service_client import BreakerState, ServiceClient
from .tracing import annotate_operation

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
UNMATCHED_ROUTE = "<unmatched>"
MAX_OPERATION_NAMES = 200
_OPERATION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
_ANONYMOUS_LABEL = re.compile(r"^anonymous:[A-Za-z_][A-Za-z0-9_+]*$")
# The Apollo Router names its subgraph fetches `<client operation>__<subgraph>__<n>`.
_ROUTER_FETCH_SUFFIX = re.compile(r"__[A-Za-z0-9_]+?__\d+$")
_MAX_ERROR_BODY = 65_536

# No `*_created` series beside every counter and histogram: they double the series for nothing
# a rate() needs.
disable_created_metrics()


class ServiceMetrics:
    """Every metric of one service, in its own registry."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        Info("service", "The service these metrics describe.", registry=registry).info({"service": service})
        ProcessCollector(registry=registry)  # CPU seconds, resident memory, open file descriptors
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)

        self.requests = Counter(
            "http_requests", "HTTP requests answered.", ["method", "route", "status"], registry=registry
        )
        self.request_duration = Histogram(
            "http_request_duration_seconds",
            "Time from the request's arrival to the end of its response.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge("http_requests_in_flight", "HTTP requests being served now.", registry=registry)
        self.errors = Counter(
            "http_errors",
            "Error answers (status >= 400) by their problem-details code.",
            ["route", "status", "code"],
            registry=registry,
        )
        self.operations = Counter(
            "graphql_operations",
            "GraphQL operations executed, by outcome (ok: no error; error: at least one).",
            ["operation_type", "operation_name", "outcome"],
            registry=registry,
        )
        self.operation_duration = Histogram(
            "graphql_operation_duration_seconds",
            "Time to parse, validate and execute one GraphQL operation.",
            ["operation_type", "operation_name"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.graphql_errors = Counter(
            "graphql_errors",
            "Errors in GraphQL responses, by extensions.code.",
            ["operation_type", "operation_name", "code"],
            registry=registry,
        )
        self.outbound_calls = Counter(
            "outbound_calls",
            "Calls to other services, by outcome (after retries).",
            ["dependency", "outcome"],
            registry=registry,
        )
        self.outbound_duration = Histogram(
            "outbound_call_duration_seconds",
            "Time a call to another service took, retries and backoff included.",
            ["dependency"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.outbound_attempts = Counter(
            "outbound_attempts",
            "Network attempts to other services (a retried call makes several), by outcome.",
            ["dependency", "outcome"],
            registry=registry,
        )
        self._operation_names: set[str] = set()
        self._watched = _Watched()
        registry.register(self._watched)

    # -- what the middleware and the GraphQL extension report ---------------------------------

    def observe_request(self, method: str, route: str, status: int, seconds: float, code: str | None) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.request_duration.labels(method, route).observe(seconds)
        if status >= 400:
            self.errors.labels(route, str(status), code or f"HTTP_{status}").inc()

    def observe_operation(self, operation_type: str, operation_name: str, seconds: float, codes: list[str]) -> None:
        self.operations.labels(operation_type, operation_name, "error" if codes else "ok").inc()
        self.operation_duration.labels(operation_type, operation_name).observe(seconds)
        for code in codes:
            self.graphql_errors.labels(operation_type, operation_name, code).inc()

    def operation_label(self, name: str | None, root_fields: Iterable[str] = ()) -> str:
        """A bounded label for a client-chosen operation name.

        Hive Gateway sends its subgraph fetches without a name: those are told apart by their
        root fields (`anonymous:_entities`, `anonymous:me`).
        """
        if not name:
            fields = "+".join(sorted(set(root_fields)))
            name = f"anonymous:{fields}"[:100] if fields else "anonymous"
            if not _ANONYMOUS_LABEL.match(name):
                return "anonymous"
        else:
            name = _ROUTER_FETCH_SUFFIX.sub("", name)
            if not _OPERATION_NAME.match(name):
                return "invalid"
        if name not in self._operation_names:
            if len(self._operation_names) >= MAX_OPERATION_NAMES:
                return "other"
            self._operation_names.add(name)
        return name

    # -- what is read at scrape time -------------------------------------------------------------

    def watch_database(self, pool: str, database: Any) -> None:
        self._watched.databases.append((pool, database))

    def watch_client(self, client: ServiceClient) -> None:
        self._watched.clients.append(client)
        client.observe(_OutboundObserver(self))

    def watch_audit(self, trail: Any) -> None:
        self._watched.audit_trails.append(trail)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _OutboundObserver:
    def __init__(self, metrics: ServiceMetrics) -> None:
        self.metrics = metrics

    def attempt(self, dependency: str, outcome: str) -> None:
        self.metrics.outbound_attempts.labels(dependency, outcome).inc()

    def call(self, dependency: str, outcome: str, seconds: float) -> None:
        self.metrics.outbound_calls.labels(dependency, outcome).inc()
        if outcome != "circuit_open":  # no call was made
            self.metrics.outbound_duration.labels(dependency).observe(seconds)


class _Watched(Collector):
    """Pools, breakers and queues, read when Prometheus scrapes (no hook on their hot paths)."""

    def __init__(self) -> None:
        self.databases: list[tuple[str, Any]] = []
        self.clients: list[ServiceClient] = []
        self.audit_trails: list[Any] = []

    def describe(self) -> Iterable[Any]:
        return []  # families vary with what is watched; registered without a fixed description

    def collect(self) -> Iterator[Any]:
        yield from self._pools()
        yield from self._breakers()
        if self.audit_trails:
            queued = GaugeMetricFamily("audit_queue_length", "Read events queued, not yet written to the audit trail.")
            queued.add_metric([], sum(_queue_length(trail) for trail in self.audit_trails))
            yield queued

    def _pools(self) -> Iterator[Any]:
        if not self.databases:
            return
        size = GaugeMetricFamily("db_pool_size", "Connections the pool keeps open.", labels=["pool"])
        limit = GaugeMetricFamily(
            "db_pool_max_connections", "Most connections the pool opens (size + overflow).", labels=["pool"]
        )
        checked_out = GaugeMetricFamily("db_pool_checked_out", "Connections in use by requests now.", labels=["pool"])
        for name, database in self.databases:
            pool = database.engine.pool
            if not hasattr(pool, "checkedout"):
                continue  # a pool kind that does not count (none is used today)
            checked_out.add_metric([name], pool.checkedout())
            if hasattr(pool, "size"):
                size.add_metric([name], pool.size())
                limit.add_metric([name], pool.size() + max(getattr(pool, "_max_overflow", 0), 0))
        yield from (size, limit, checked_out)

    def _breakers(self) -> Iterator[Any]:
        if not self.clients:
            return
        state = GaugeMetricFamily(
            "circuit_breaker_state",
            "1 for the breaker's current state, 0 for the others.",
            labels=["dependency", "state"],
        )
        failures = GaugeMetricFamily(
            "circuit_breaker_consecutive_failures",
            "Failed calls in a row (resets on a success).",
            labels=["dependency"],
        )
        opened = CounterMetricFamily("circuit_breaker_opened", "Times the breaker opened.", labels=["dependency"])
        rejected = CounterMetricFamily(
            "circuit_breaker_rejected",
            "Calls refused by an open breaker without a network call.",
            labels=["dependency"],
        )
        for client in self.clients:
            snapshot = client.breaker.snapshot()
            for candidate in BreakerState:
                state.add_metric([client.name, candidate.value], 1.0 if snapshot["state"] == candidate.value else 0.0)
            failures.add_metric([client.name], snapshot["consecutive_failures"])
            opened.add_metric([client.name], snapshot["times_opened"])
            rejected.add_metric([client.name], snapshot["rejected"])
        yield from (state, failures, opened, rejected)


def _queue_length(trail: Any) -> int:
    length = getattr(trail, "queue_length", None)
    if isinstance(length, int):
        return length
    return len(getattr(trail, "_queue", ()))


def metrics_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/metrics", summary="Prometheus metrics of this process", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return router


# -- GraphQL ------------------------------------------------------------------------------------


class GraphQLMetrics(SchemaExtension):
    """Counts and times each operation, and its errors by `extensions.code`.

    Runs outermost (first in the schema's extensions), so the codes it reads are the ones
    `ErrorCodes` put there, as the client sees them.
    """

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        app = getattr(getattr(context.context, "request", None), "app", None)
        metrics: ServiceMetrics | None = getattr(getattr(app, "state", None), "metrics", None)
        if metrics is None:
            return
        try:
            operation_type = context.operation_type.value
        except Exception:  # noqa: BLE001 - an unparsable document has no type
            operation_type = "unknown"
        operation_name = metrics.operation_label(context.operation_name, _root_fields(context))
        errors = list(getattr(context.result, "errors", None) or context.pre_execution_errors or [])
        codes = [str((error.extensions or {}).get("code") or "UNKNOWN") for error in errors]
        metrics.observe_operation(operation_type, operation_name, time.perf_counter() - started, codes)
        annotate_operation(operation_type, operation_name)


def _root_fields(context: Any) -> list[str]:
    """The top-level field names of the operation (for anonymous operations)."""
    from graphql import FieldNode, OperationDefinitionNode

    document = getattr(context, "graphql_document", None)
    for definition in getattr(document, "definitions", ()):
        if isinstance(definition, OperationDefinitionNode):
            return [node.name.value for node in definition.selection_set.selections if isinstance(node, FieldNode)]
    return []


def problem_code(body: bytes) -> str | None:
    """The `code` of a problem-details body, if it is one."""
    if not body or len(body) > _MAX_ERROR_BODY:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None
    code = document.get("code") if isinstance(document, dict) else None
    return code if isinstance(code, str) and _OPERATION_NAME.match(code) else None
