"""`/metrics` on every service: what it counts, with which labels, and that labels stay bounded."""

from __future__ import annotations

import uuid

import httpx
import pytest

from subgraphs.kit.jwt import StaticKeys
from subgraphs.kit.metrics import MAX_OPERATION_NAMES, ServiceMetrics
from subgraphs.prescriptions.app import MIGRATIONS as PRESCRIPTION_MIGRATIONS
from subgraphs.prescriptions.app import create_app as create_prescriptions
from subgraphs.prescriptions.config import PrescriptionSettings

from ..conftest import running
from ..system import System
from ..tokens import mint, new_keys
from .conftest import scrape

ISSUE = """mutation IssueOne($input: IssuePrescriptionInput!) { issuePrescription(input: $input) { id } }"""


async def test_every_service_serves_prometheus_metrics_of_its_own(system: System):
    for name, client in system.clients.items():
        metrics = await scrape(client)
        assert metrics.value("service_info", service=name) == 1
        assert metrics.value("process_resident_memory_bytes") > 0
        assert {"closed", "open", "half_open"} >= metrics.label_values("circuit_breaker_state", "state")


async def test_requests_are_counted_by_route_template_never_by_raw_path(system: System):
    doctor, patient = await system.doctor(), await system.user()
    appointment = await system.appointment(doctor, patient, "fulfilled")
    prescription = await system.prescription(doctor, appointment)
    for _ in range(3):
        response = await system.prescriptions.get(f"/prescriptions/{prescription['id']}", headers=patient["headers"])
        assert response.status_code == 200
    missing = await system.prescriptions.get(f"/prescriptions/{uuid.uuid4()}", headers=patient["headers"])
    assert missing.status_code == 404
    assert (await system.prescriptions.get(f"/no/such/{uuid.uuid4()}")).status_code == 404

    metrics = await scrape(system.prescriptions)

    route = "/prescriptions/{prescription_id}"
    assert metrics.value("http_requests_total", method="GET", route=route, status="200") == 3
    assert metrics.value("http_request_duration_seconds_count", method="GET", route=route) == 4
    assert metrics.value("http_requests_total", method="POST", route="/prescriptions", status="201") == 1
    assert metrics.value("http_requests_total", route="<unmatched>", status="404") == 1
    assert prescription["id"] not in metrics.text and appointment["id"] not in metrics.text
    # Errors by their problem code, on the route they happened on.
    assert metrics.value("http_errors_total", route=route, status="404", code="NOT_FOUND") == 1
    assert metrics.value("http_requests_in_flight") == 1  # the scrape itself


async def test_errors_are_counted_by_problem_code(system: System):
    patient = await system.user()
    await system.prescriptions.get("/prescriptions")  # no token
    await system.prescriptions.post("/prescriptions", json={"appointment_id": "x"}, headers=patient["headers"])
    await system.prescriptions.get("/prescriptions/stats", headers=patient["headers"])

    metrics = await scrape(system.prescriptions)

    assert metrics.value("http_errors_total", route="/prescriptions", status="401", code="UNAUTHENTICATED") == 1
    assert metrics.value("http_errors_total", route="/prescriptions", code="VALIDATION_ERROR") == 1
    assert metrics.value("http_errors_total", route="/prescriptions/stats", status="403", code="FORBIDDEN") == 1


async def test_graphql_operations_are_counted_by_name_and_type_with_their_error_codes(system: System):
    doctor, patient = await system.doctor(), await system.user()
    booked = await system.appointment(doctor, patient, "booked")
    fulfilled = await system.appointment(doctor, patient, "fulfilled")

    def issue(appointment):
        body = {"appointmentId": appointment["id"], "medication": "Ibuprofen", "dosage": "1", "frequency": "daily"}
        return system.gql("prescriptions", ISSUE, {"input": body}, doctor)

    assert not (await issue(fulfilled)).get("errors")
    refused = await issue(booked)
    assert refused["errors"][0]["extensions"]["code"] == "APPOINTMENT_NOT_ELIGIBLE"
    await system.gql("prescriptions", "query Mine { prescriptions { id } }", user=patient)
    await system.gql("prescriptions", "query Mine { prescriptions { id } }")  # no token
    await system.gql("prescriptions", "{ prescriptions { id } }", user=patient)  # as Hive Gateway sends them

    metrics = await scrape(system.prescriptions)

    ops = "graphql_operations_total"
    assert metrics.value(ops, operation_type="mutation", operation_name="IssueOne", outcome="ok") == 1
    assert metrics.value(ops, operation_type="mutation", operation_name="IssueOne", outcome="error") == 1
    assert metrics.value(ops, operation_type="query", operation_name="Mine", outcome="ok") == 1
    assert metrics.value(ops, operation_type="query", operation_name="anonymous:prescriptions") == 1
    errors = "graphql_errors_total"
    assert metrics.value(errors, operation_name="IssueOne", code="APPOINTMENT_NOT_ELIGIBLE") == 1
    assert metrics.value(errors, operation_name="Mine", code="UNAUTHENTICATED") == 1
    assert metrics.value("graphql_operation_duration_seconds_count", operation_name="Mine") == 2
    # The HTTP layer sees the same requests on the /graphql route template.
    assert metrics.value("http_requests_total", route="/graphql", status="200") == 5


async def test_a_router_secret_refusal_is_an_http_error_not_an_operation(system: System):
    response = await system.prescriptions.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 401

    metrics = await scrape(system.prescriptions)

    assert metrics.value("http_errors_total", route="/graphql", status="401", code="UNAUTHENTICATED") == 1
    assert metrics.value("graphql_operations_total") == 0


async def test_outbound_calls_and_the_pool_are_visible(system: System):
    doctor, patient = await system.doctor(), await system.user()
    appointment = await system.appointment(doctor, patient, "fulfilled")
    await system.prescription(doctor, appointment)
    other = await system.doctor()
    response = await system.prescriptions.post(
        "/prescriptions",
        json={"appointment_id": appointment["id"], "medication": "x", "dosage": "1", "frequency": "daily"},
        headers=other["headers"],
    )
    assert response.status_code == 404  # not this doctor's appointment: the appointment service said 404

    metrics = await scrape(system.prescriptions)

    assert metrics.value("outbound_calls_total", dependency="appointment", outcome="success") == 1
    assert metrics.value("outbound_calls_total", dependency="appointment", outcome="refused") == 1
    assert metrics.value("outbound_attempts_total", dependency="appointment", outcome="answered") == 2
    assert metrics.value("outbound_call_duration_seconds_count", dependency="appointment") == 2
    assert metrics.value("circuit_breaker_state", dependency="appointment", state="closed") == 1
    assert metrics.value("circuit_breaker_state", dependency="appointment", state="open") == 0
    assert metrics.value("db_pool_size", pool="main") >= 1
    assert metrics.value("db_pool_max_connections", pool="main") >= metrics.value("db_pool_size", pool="main")
    assert metrics.value("db_pool_checked_out", pool="main") == 0  # nothing in use between requests
    admin = await scrape(system.admin)
    assert {"auth", "appointments", "prescriptions"} <= admin.label_values("circuit_breaker_state", "dependency")


@pytest.fixture
async def failing_dependency(database_for, tmp_path):
    """A prescriptions app whose appointment service answers 503 to everything; one failed call opens its breaker."""
    keys = new_keys()
    settings = PrescriptionSettings(
        database_url=database_for("prescriptions", PRESCRIPTION_MIGRATIONS),
        data_dir=tmp_path,
        appointment_retries=1,
        appointment_breaker_threshold=1,
        appointment_breaker_cooldown=300,
    )
    app = create_prescriptions(
        settings,
        key_source=StaticKeys(keys.public_keys),
        appointments_transport=httpx.MockTransport(lambda _request: httpx.Response(503)),
    )
    async for client in running(app):
        yield client, keys


async def test_a_failing_dependency_shows_in_outcomes_and_breaker_state(failing_dependency):
    client, keys = failing_dependency
    doctor = {"authorization": f"Bearer {mint(keys, uuid.uuid4(), 'doctor')}"}
    body = {"appointment_id": str(uuid.uuid4()), "medication": "x", "dosage": "1", "frequency": "daily"}

    first = await client.post("/prescriptions", json=body, headers=doctor)
    second = await client.post("/prescriptions", json=body, headers=doctor)

    assert [first.status_code, second.status_code] == [503, 503]
    metrics = await scrape(client)
    assert metrics.value("outbound_calls_total", dependency="appointment", outcome="server_error") == 1
    assert metrics.value("outbound_attempts_total", dependency="appointment", outcome="server_error") == 2
    assert metrics.value("outbound_calls_total", dependency="appointment", outcome="circuit_open") == 1
    assert metrics.value("circuit_breaker_state", dependency="appointment", state="open") == 1
    assert metrics.value("circuit_breaker_opened_total", dependency="appointment") == 1
    assert metrics.value("circuit_breaker_rejected_total", dependency="appointment") == 1
    assert metrics.value("http_errors_total", route="/prescriptions", code="DEPENDENCY_UNAVAILABLE") == 2


async def test_the_audit_queue_is_visible(system: System):
    metrics = await scrape(system.auth)
    assert metrics.label_values("db_pool_size", "pool") >= {"main"}
    assert any(sample.name == "audit_queue_length" for sample in metrics.samples)


async def test_each_app_has_its_own_registry(system: System):
    await system.auth.get("/health")
    await system.auth.get("/health")
    await system.appointments.get("/health")

    auth, appointments = await scrape(system.auth), await scrape(system.appointments)

    assert auth.value("http_requests_total", route="/health") == 2
    assert appointments.value("http_requests_total", route="/health") == 1


def test_operation_name_labels_are_bounded():
    metrics = ServiceMetrics("test")

    assert metrics.operation_label(None) == "anonymous"
    assert metrics.operation_label(None, ["_entities"]) == "anonymous:_entities"
    assert metrics.operation_label("MyCare__appointments__1") == "MyCare"  # the Apollo Router's fetch names
    assert metrics.operation_label("drop table; --") == "invalid"
    fresh = ServiceMetrics("test")
    labels = {fresh.operation_label(f"Op{number}") for number in range(MAX_OPERATION_NAMES + 50)}
    assert len(labels) == MAX_OPERATION_NAMES + 1 and "other" in labels
    assert fresh.operation_label("Op1") == "Op1"  # names already seen keep their label
