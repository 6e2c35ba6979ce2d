"""A local OTLP/HTTP trace receiver for tests: what a collector would get, decoded.

Listens on 127.0.0.1 only, accepts `POST /v1/traces` with an `ExportTraceServiceRequest`,
protobuf (what the Python SDK sends) or OTLP/JSON (what Hive Gateway's `otlp-http` exporter
sends), optionally gzip, and keeps every span with its service name.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str | None
    kind: int
    attributes: dict = field(hash=False, compare=False)

    @property
    def is_server(self) -> bool:
        return self.kind == 2  # SPAN_KIND_SERVER

    @property
    def is_client(self) -> bool:
        return self.kind == 3  # SPAN_KIND_CLIENT


def _value(any_value) -> object:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def _json_value(value: dict) -> object:
    for kind in ("stringValue", "boolValue", "intValue", "doubleValue"):
        if kind in value:
            return int(value[kind]) if kind == "intValue" else value[kind]
    return None


def decode_json(body: bytes) -> list[Span]:
    """OTLP/JSON: like the protobuf, with ids as hex strings (OTLP spec, not proto3's base64)."""
    document = json.loads(body)
    spans = []
    for resource_spans in document.get("resourceSpans", []):
        resource = {
            item["key"]: _json_value(item.get("value", {}))
            for item in resource_spans.get("resource", {}).get("attributes", [])
        }
        service = str(resource.get("service.name", "?"))
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                spans.append(
                    Span(
                        service=service,
                        name=span.get("name", ""),
                        trace_id=span["traceId"].lower(),
                        span_id=span["spanId"].lower(),
                        parent_id=(span.get("parentSpanId") or "").lower() or None,
                        kind=int(span.get("kind", 0)),
                        attributes={
                            item["key"]: _json_value(item.get("value", {})) for item in span.get("attributes", [])
                        },
                    )
                )
    return spans


def decode(body: bytes) -> list[Span]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = {item.key: _value(item.value) for item in resource_spans.resource.attributes}
        service = str(resource.get("service.name", "?"))
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    Span(
                        service=service,
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_id=span.parent_span_id.hex() or None,
                        kind=span.kind,
                        attributes={item.key: _value(item.value) for item in span.attributes},
                    )
                )
    return spans


class OtlpSink:
    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.requests = 0
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self._body()
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path.rstrip("/") != "/v1/traces":
                    self.send_response(404)
                    self.end_headers()
                    return
                is_json = (self.headers.get("content-type") or "").startswith("application/json")
                spans = decode_json(body) if is_json else decode(body)
                with sink._lock:
                    sink.spans.extend(spans)
                    sink.requests += 1
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def _body(self) -> bytes:
                if "chunked" not in (self.headers.get("transfer-encoding") or "").lower():
                    return self.rfile.read(int(self.headers.get("content-length") or 0))
                chunks = []  # Node's exporter streams its body in chunks, without a length
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()

            def log_message(self, *_args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-sink", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> OtlpSink:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def snapshot(self) -> list[Span]:
        with self._lock:
            return list(self.spans)

    def trace(self, trace_id: str) -> list[Span]:
        return [span for span in self.snapshot() if span.trace_id == trace_id]

    def wait_for(self, predicate, timeout: float = 30.0, interval: float = 0.1) -> list[Span]:
        """The spans once `predicate(spans)` holds; AssertionError with what arrived otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.snapshot()
            if predicate(spans):
                return spans
            if time.monotonic() > deadline:
                summary = "\n".join(f"  {s.service} {s.name} {s.trace_id} {s.span_id}<-{s.parent_id}" for s in spans)
                raise AssertionError(f"spans did not arrive as expected within {timeout}s; got:\n{summary}")
            time.sleep(interval)
