"""Trace context on every hop; OpenTelemetry spans exported over OTLP when configured, and no
tracing cost at all when not."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from subgraphs.kit.jwt import StaticKeys
from subgraphs.kit.tracing import TracingSettings
from subgraphs.prescriptions.app import MIGRATIONS as PRESCRIPTION_MIGRATIONS
from subgraphs.prescriptions.app import create_app as create_prescriptions
from subgraphs.prescriptions.config import PrescriptionSettings

from ..conftest import running
from ..system import in_process_system
from ..tokens import mint, new_keys
from .otlp_sink import OtlpSink, Span

PROJECT = Path(__file__).resolve().parents[2]


def new_traceparent() -> tuple[str, str, str]:
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{parent_id}-01", trace_id, parent_id


class Recording(httpx.AsyncBaseTransport):
    """The appointment service as seen from outside: records what it was sent, answers 404."""

    def __init__(self) -> None:
        self.headers: list[httpx.Headers] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.headers.append(request.headers)
        return httpx.Response(404, json={"code": "NOT_FOUND"})


async def issue_through(database_for, tmp_path, headers: dict[str, str]) -> httpx.Headers:
    """Issues a prescription with `headers`; what the appointment service received."""
    keys, recording = new_keys(), Recording()
    app = create_prescriptions(
        PrescriptionSettings(database_url=database_for("prescriptions", PRESCRIPTION_MIGRATIONS), data_dir=tmp_path),
        key_source=StaticKeys(keys.public_keys),
        appointments_transport=recording,
    )
    body = {"appointment_id": str(uuid.uuid4()), "medication": "x", "dosage": "1", "frequency": "daily"}
    token = {"authorization": f"Bearer {mint(keys, uuid.uuid4(), 'doctor')}"}
    async for client in running(app):
        response = await client.post("/prescriptions", json=body, headers={**token, **headers})
        assert response.status_code == 404  # the recording said so
    assert len(recording.headers) == 1
    return recording.headers[0]


async def test_untraced_services_pass_the_callers_trace_context_on_unchanged(database_for, tmp_path, monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    traceparent, _trace_id, _parent = new_traceparent()

    sent = await issue_through(
        database_for, tmp_path, {"traceparent": traceparent, "tracestate": "vendor=abc", "x-request-id": "req-42"}
    )

    assert sent["traceparent"] == traceparent
    assert sent["tracestate"] == "vendor=abc"
    assert sent["x-request-id"] == "req-42"


async def test_an_invalid_traceparent_is_not_passed_on(database_for, tmp_path, monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)

    sent = await issue_through(database_for, tmp_path, {"traceparent": "00-" + "0" * 32 + "-" + "1" * 16 + "-01"})

    assert "traceparent" not in sent


async def test_a_traced_service_names_its_own_client_span_as_the_parent(database_for, tmp_path, monkeypatch):
    traceparent, trace_id, parent_id = new_traceparent()
    with OtlpSink() as sink:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", sink.url)

        sent = await issue_through(database_for, tmp_path, {"traceparent": traceparent})

        version, sent_trace, sent_parent, flags = sent["traceparent"].split("-")
        assert (version, sent_trace, flags) == ("00", trace_id, "01")
        spans = sink.wait_for(lambda spans: any(span.span_id == sent_parent for span in spans))
        client_span = next(span for span in spans if span.span_id == sent_parent)
        assert client_span.is_client and client_span.service == "prescriptions"
        assert sent_parent != parent_id


def ancestors(span: Span, by_id: dict[str, Span]) -> list[Span]:
    chain = []
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        chain.append(span)
    return chain


async def test_one_request_across_two_services_is_one_connected_trace(database_for, tmp_path, monkeypatch):
    traceparent, trace_id, client_parent = new_traceparent()
    with OtlpSink() as sink:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", sink.url)
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
        async with in_process_system(database_for, tmp_path) as system:
            doctor, patient = await system.doctor(), await system.user()
            appointment = await system.appointment(doctor, patient, "fulfilled")
            body = {"appointment_id": appointment["id"], "medication": "Zolmitriptan 2.5 mg", "dosage": "1 tablet",
                    "frequency": "at onset", "instructions": "Avoid with St John's wort"}  # fmt: skip
            headers = {**doctor["headers"], "traceparent": traceparent}
            response = await system.prescriptions.post("/prescriptions", json=body, headers=headers)
            assert response.status_code == 201, response.text
            await system.prescriptions.get("/ready", headers={"traceparent": traceparent})
        # Leaving the system ran each app's shutdown, which exports what is left.

        spans = sink.trace(trace_id)

    by_id = {span.span_id: span for span in spans}
    servers = {span.service: span for span in spans if span.is_server}
    assert set(servers) == {"prescriptions", "appointments"}, spans
    issuing, lookup = servers["prescriptions"], servers["appointments"]
    assert issuing.parent_id == client_parent
    assert issuing.attributes["http.route"] == "/prescriptions"
    assert lookup.attributes["http.route"] == "/appointments/{appointment_id}"
    # The appointment service's span hangs under the prescription service's httpx client span.
    outbound = by_id[lookup.parent_id]
    assert outbound.is_client and outbound.service == "prescriptions"
    assert issuing in ancestors(outbound, by_id)
    # SQL of both services, each under its own server span.
    for server in (issuing, lookup):
        statements = [
            span
            for span in spans
            if span.service == server.service and {"db.system", "db.system.name"} & set(span.attributes)
        ]
        assert statements, f"no SQL spans for {server.service}"
        assert all(server in ancestors(span, by_id) for span in statements)
    # Connected: every span's parent is in the trace, but the root's, which is the caller's.
    assert [span for span in spans if span.parent_id not in by_id] == [issuing]
    # The readiness probe is not traced, not even its SQL.
    assert not [span for span in spans if span.attributes.get("url.path") == "/ready"]
    assert len([span for span in spans if span.is_server]) == 2
    # No clinical text or credential in any attribute.
    values = json.dumps([span.attributes for span in spans], default=str)
    for secret in ("Zolmitriptan", "St John", doctor["token"], "Bearer"):
        assert secret not in values


def test_tracing_settings_follow_the_opentelemetry_variables(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)
    assert not TracingSettings().enabled
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")
    assert TracingSettings().traces_url == "http://collector:4318/v1/traces"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4318/custom")
    assert TracingSettings().traces_url == "http://collector:4318/custom"
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert not TracingSettings().enabled


OFF_SCRIPT = r"""
import asyncio, json, sys, tempfile, uuid
from pathlib import Path

import httpx
from fastapi import FastAPI

from subgraphs.appointments.app import MIGRATIONS, create_app
from subgraphs.appointments.config import AppointmentSettings
from subgraphs.kit.jwt import StaticKeys
from subgraphs.kit.migrations import upgrade
from tests.tokens import mint, new_keys

TRACEPARENT = "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"


async def traffic(app, headers):
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for path in ("/appointments", "/doctors", "/ready", "/metrics"):
                await client.get(path, headers={**headers, "traceparent": TRACEPARENT})


async def main():
    directory = Path(tempfile.mkdtemp())
    url = f"sqlite:///{directory / 'appointments.db'}"
    upgrade("appointments", MIGRATIONS, url)
    keys = new_keys()
    app = create_app(AppointmentSettings(database_url=url, data_dir=directory), key_source=StaticKeys(keys.public_keys))
    headers = {"authorization": "Bearer " + mint(keys, uuid.uuid4(), "patient")}
    await traffic(app, headers)
    prefixes = ("opentelemetry.sdk", "opentelemetry.instrumentation", "opentelemetry.exporter")
    loaded = sorted(name for name in sys.modules if name.startswith(prefixes))

    # Even with an SDK provider installed globally (by anything else in the process), the app makes no span.
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    await traffic(app, headers)
    ours = len(exporter.get_finished_spans())

    # Control: a FastAPI app left to its defaults does trace under that provider.
    plain = FastAPI()
    plain.get("/ping")(lambda: {"ok": True})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=plain), base_url="http://test") as client:
        await client.get("/ping")
    control = len(exporter.get_finished_spans()) - ours
    print(json.dumps({"tracing": app.state.tracing is not None, "loaded": loaded, "spans": ours, "control": control}))


asyncio.run(main())
"""


def test_tracing_off_installs_nothing_and_creates_no_span(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "FASTAPI_OTEL"))}
    env["PYTHONPATH"] = str(PROJECT)
    result = subprocess.run(
        [sys.executable, "-c", OFF_SCRIPT], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])

    assert report["tracing"] is False
    assert report["loaded"] == []  # no SDK, exporter or instrumentation was even imported
    assert report["spans"] == 0
    assert report["control"] > 0  # the check above can see spans when there are any


@pytest.fixture(autouse=True)
def _no_ambient_tracing(monkeypatch):
    """These tests decide tracing themselves, whatever the environment running them says."""
    for name in ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED", "FASTAPI_OTEL_AUTO_CONFIGURE"):
        monkeypatch.delenv(name, raising=False)


async def test_care_relationships_and_key_checks_carry_the_request_id_and_trace_context():
    """The calls a service makes on its own while serving a request (auth asking appointments
    about care relationships; any service fetching the JWKS or checking an account at auth)."""
    from subgraphs.auth.users.care_http import HttpCareRelationships
    from subgraphs.kit.jwt import RemoteJwks, remote_account_status
    from subgraphs.kit.logging import request_id_var
    from subgraphs.kit.principal import Principal, Role
    from subgraphs.kit.tracing import traceparent_var

    seen: list[httpx.Headers] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        if request.url.path.endswith("jwks.json"):
            return httpx.Response(200, json={"keys": []})
        if request.url.path.endswith("validate-token"):
            return httpx.Response(200, json={})
        return httpx.Response(200, json={"patient_ids": []})

    transport = httpx.MockTransport(answer)
    traceparent, _trace_id, _parent = new_traceparent()
    care = HttpCareRelationships(
        "http://appointments", router_secret="s", secret_header="x-router-secret", transport=transport
    )
    jwks = RemoteJwks("http://auth/.well-known/jwks.json", transport=transport)
    status = remote_account_status("http://auth/auth/validate-token", transport=transport)
    tokens = (request_id_var.set("req-care-1"), traceparent_var.set(traceparent))
    try:
        await care.patients_in_care(uuid.uuid4(), {uuid.uuid4()})
        await jwks.get("some-kid")
        principal = Principal(uuid.uuid4(), Role.PATIENT, "jti-1", datetime.now(UTC) + timedelta(minutes=5))
        await status.check("a-token", principal)
    finally:
        request_id_var.reset(tokens[0])
        traceparent_var.reset(tokens[1])
        await care.aclose()

    assert len(seen) == 3
    assert all(headers.get("x-request-id") == "req-care-1" for headers in seen)
    assert all(headers.get("traceparent") == traceparent for headers in seen)
