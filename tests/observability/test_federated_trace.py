"""One federated query, one trace: the router's spans and every subgraph's, joined by the
`traceparent` the router sends, exported over OTLP to a local sink; and the router's own
Prometheus metrics and readiness."""

from __future__ import annotations

import json
import secrets
import time

import httpx
import pytest

from subgraphs.cli.processes import free_port
from tests.e2e.stack import ECHO, require_router_packages

from .live import Clinic, LiveStack, new_live_stack, prescription_body
from .otlp_sink import OtlpSink, Span

pytestmark = pytest.mark.e2e

MY_CARE = """query MyCare {
  me { id fullName appointments { id status prescriptions { id medication } } }
}"""


def router_tracing_env(sink: OtlpSink) -> dict[str, str]:
    """Hive Gateway's own OpenTelemetry setup (`--opentelemetry` / OPENTELEMETRY), OTLP over HTTP.

    Resource detection limited to what is local: the default also asks cloud metadata services."""
    return {
        "OPENTELEMETRY": f"{sink.url}/v1/traces",
        "OTEL_SERVICE_NAME": "router",
        "OTEL_NODE_RESOURCE_DETECTORS": "env,host,os,process",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }


def describe(spans: list[Span]) -> str:
    return "\n".join(f"  {s.service:13} {s.name[:40]:40} {s.span_id} <- {s.parent_id}" for s in spans)


def test_a_federated_query_is_one_trace_from_the_router_through_every_subgraph(tmp_path):
    require_router_packages()
    with OtlpSink() as sink:
        stack: LiveStack = new_live_stack(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=sink.url, OTEL_BSP_SCHEDULE_DELAY="200")
        clinic = Clinic(stack)
        try:
            stack.start_subgraphs(["auth", "appointments", "prescriptions"])
            stack.compose()
            _router, stack.router_url = stack.start_router(**router_tracing_env(sink))
            doctor, patient = clinic.doctor(), clinic.user()
            appointment = clinic.appointment(doctor, patient)
            issued = clinic.http.post(
                f"{stack.url('prescriptions')}/prescriptions",
                json=prescription_body(appointment),
                headers=doctor["headers"],
            )
            assert issued.status_code == 201, issued.text

            trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)
            request_id = f"trace-{secrets.token_hex(6)}"
            marks = {name: process.mark() for name, process in stack.processes.items()}
            data = stack.data(
                MY_CARE,
                token=patient["token"],
                headers={"traceparent": f"00-{trace_id}-{client_span}-01", "x-request-id": request_id},
            )
            assert data["me"]["appointments"][0]["prescriptions"][0]["id"] == issued.json()["id"]

            def complete(spans: list[Span]) -> bool:
                ours = [span for span in spans if span.trace_id == trace_id]
                graphql = {span.service for span in ours if span.is_server and span.name == "POST /graphql"}
                return {"auth", "appointments", "prescriptions"} <= graphql and any(
                    span.service == "router" and span.parent_id == client_span for span in ours
                )

            sink.wait_for(complete)
            spans = sink.trace(trace_id)
            print(f"\ntrace {trace_id} ({len(spans)} spans):\n{describe(spans)}")
        finally:
            clinic.close()
            stack.stop()

        by_id = {span.span_id: span for span in spans}
        # The router's request span continues the client's trace.
        (root,) = [span for span in spans if span.parent_id == client_span]
        assert root.service == "router" and root.is_server
        # Every subgraph request span is the child of a router span (its subgraph fetch).
        subgraph_requests = [
            span for span in spans if span.service != "router" and span.is_server and span.name == "POST /graphql"
        ]
        assert {span.service for span in subgraph_requests} == {"auth", "appointments", "prescriptions"}
        for span in subgraph_requests:
            assert by_id[span.parent_id].service == "router", describe(spans)
        # Nothing dangles: every span's parent is in the trace, but the root's (the client's).
        assert [span for span in spans if span.parent_id not in by_id] == [root], describe(spans)
        # Each subgraph's SQL sits under that subgraph's request.
        for span in spans:
            if span.service != "router" and {"db.system", "db.system.name"} & set(span.attributes):
                chain, cursor = [], span
                while cursor.parent_id in by_id:
                    cursor = by_id[cursor.parent_id]
                    chain.append(cursor)
                assert any(s.service == span.service and s.is_server for s in chain)

        # The same request, followed through the logs: its request id and trace id on each subgraph.
        for name in ("auth", "appointments", "prescriptions"):
            lines = [
                json.loads(line) for line in stack.processes[name].lines_since(marks[name]) if line.startswith("{")
            ]
            graphql = [e for e in lines if e.get("logger") == "access" and e.get("request_id") == request_id]
            assert graphql and all(entry["trace_id"] == trace_id for entry in graphql), name


def test_the_router_serves_prometheus_metrics_and_is_ready_once_every_subgraph_has_been(tmp_path):
    """`/ready` waits for every subgraph of the supergraph (router/subgraph-readiness.ts); once a
    subgraph has been ready, its failure costs only its own fields, not the router's readiness."""
    require_router_packages()
    stack = new_live_stack(tmp_path)
    try:
        # Ports nothing listens on: every subgraph is down.
        stack.subgraph_ports = {name: free_port() for name in ("auth", "appointments", "prescriptions", "admin", ECHO)}
        stack.compose()
        _router, stack.router_url = stack.start_router()

        assert httpx.get(f"{stack.router_url}/ready/supergraph").status_code == 200
        waiting = httpx.get(f"{stack.router_url}/ready")
        assert waiting.status_code == 503
        assert waiting.json() == {
            "status": "waiting",
            "waitingFor": sorted(["auth", "appointments", "prescriptions", "admin", ECHO]),
        }
        body = stack.graphql("query Me { me { id } }").json()
        assert body.get("data") is None  # nothing answered at all (docs/router.md)
        assert [error["extensions"] for error in body["errors"]] == [
            {"code": "SUBREQUEST_HTTP_ERROR", "serviceName": "auth"}
        ]

        metrics = httpx.get(f"{stack.router_url}/metrics")
        assert metrics.status_code == 200
        lines = metrics.text.splitlines()
        assert any(
            line.startswith("graphql_yoga_http_duration_count{") and 'operationName="Me"' in line for line in lines
        )
        assert any(line.startswith("graphql_gateway_subgraph_execute_errors") and "auth" in line for line in lines), (
            "\n".join(line for line in lines if line.startswith("graphql_gateway"))
        )

        # The subgraphs come up (on new ports, in a new supergraph the router reads again).
        stack.start_subgraphs(["auth", "appointments", "prescriptions", "admin"])
        stack.compose()
        deadline = time.monotonic() + 30
        while (ready := httpx.get(f"{stack.router_url}/ready")).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (ready.status_code, ready.json()) == (200, {"status": "ready"}), stack.logs()

        # A subgraph failing afterwards: still ready (its fields fail, the others answer).
        stack.processes["admin"].kill()
        assert httpx.get(f"{stack.router_url}/ready").status_code == 200
    finally:
        stack.stop()
