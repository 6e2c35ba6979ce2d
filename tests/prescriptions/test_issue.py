"""POST /prescriptions against a real appointments service (in process): who may issue, for what, and once."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import pytest

from subgraphs.prescriptions.orm import idempotency_keys

from .conftest import World


async def test_the_appointments_doctor_issues_for_an_arrived_appointment(world: World):
    doctor, patient = await world.doctor(), world.patient()
    appointment = await world.appointment(doctor, patient, "arrived")
    response = await world.issue(doctor, appointment["id"], headers={"x-request-id": "trace-issue-1"})
    assert response.status_code == 201, response.text
    assert response.headers["x-request-id"] == "trace-issue-1"
    body = response.json()
    assert body["appointment_id"] == appointment["id"]
    assert body["patient_id"] == str(patient.id) == appointment["patient_id"]
    assert body["doctor_id"] == str(doctor.id)
    assert (body["status"], body["version"], body["refills"], body["duration_days"]) == ("active", 1, 1, 7)
    assert (body["medication"], body["dosage"], body["frequency"]) == (
        "Amoxicillin 500 mg",
        "1 capsule",
        "3 times a day",
    )
    issued = datetime.fromisoformat(body["issued_at"])
    assert date.fromisoformat(body["ends_on"]) == date.fromordinal(issued.date().toordinal() + 7)
    assert await world.count_rows() == 1
    assert await world.count_rows(world.app.state.audit.table) == 1  # the write's event, in its transaction


async def test_a_fulfilled_appointment_is_eligible_and_optional_fields_may_be_left_out(world: World):
    doctor, patient = await world.doctor(), world.patient()
    appointment = await world.appointment(doctor, patient, "fulfilled")
    body = {
        "appointment_id": appointment["id"],
        "medication": "Ibuprofen",
        "dosage": "200 mg",
        "frequency": "as needed",
    }
    response = await world.client.post("/prescriptions", json=body, headers=doctor.headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["refills"], created["duration_days"], created["ends_on"], created["instructions"]) == (
        0,
        None,
        None,
        None,
    )


@pytest.mark.parametrize("status", ["booked", "noshow", "cancelled"])
async def test_an_appointment_where_the_patient_did_not_arrive_is_not_eligible(world: World, status):
    doctor, patient = await world.doctor(), world.patient()
    appointment = await world.appointment(doctor, patient, status)
    response = await world.issue(doctor, appointment["id"])
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "APPOINTMENT_NOT_ELIGIBLE"
    assert response.json()["appointment_status"] == status
    assert await world.count_rows() == 0


async def test_another_doctors_appointment_is_not_found(world: World):
    doctor, other_doctor, patient = await world.doctor(), await world.doctor(), world.patient()
    appointment = await world.appointment(doctor, patient, "arrived")
    response = await world.issue(other_doctor, appointment["id"])
    # The appointment service itself refuses to show it to another doctor.
    assert response.status_code == 404
    assert response.json()["code"] == "APPOINTMENT_NOT_FOUND"
    assert await world.count_rows() == 0


async def test_a_missing_appointment_is_not_found(world: World):
    doctor = await world.doctor()
    response = await world.issue(doctor, uuid.uuid4())
    assert response.status_code == 404
    assert response.json()["code"] == "APPOINTMENT_NOT_FOUND"


@pytest.mark.parametrize("role", ["patient", "admin"])
async def test_only_doctors_issue(world: World, role):
    doctor, patient = await world.doctor(), world.patient()
    appointment = await world.appointment(doctor, patient, "arrived")
    caller = patient if role == "patient" else world.admin()
    client = world.app.state.appointment_client
    attempts = client.attempts
    response = await world.issue(caller, appointment["id"])
    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"
    assert client.attempts == attempts  # refused before asking the appointment service
    assert await world.count_rows() == 0


async def test_without_a_token_it_is_unauthenticated(world: World):
    response = await world.client.post("/prescriptions", json=world.body(uuid.uuid4()))
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    "change",
    [
        {"refills": 13},
        {"refills": -1},
        {"duration_days": 0},
        {"medication": "   "},
        {"status": "completed"},
        {"patient_id": str(uuid.uuid4())},
        {"appointment_id": "not-a-uuid"},
    ],
    ids=["refills-high", "refills-negative", "duration", "blank-medication", "status", "patient", "bad-id"],
)
async def test_invalid_bodies_are_refused(world: World, change):
    doctor = await world.doctor()
    response = await world.client.post(
        "/prescriptions", json={**world.body(uuid.uuid4()), **change}, headers=doctor.headers
    )
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"


# -- Idempotency-Key ---------------------------------------------------------


async def test_a_replay_returns_the_first_response_and_creates_nothing(world: World):
    doctor, patient = await world.doctor(), world.patient()
    appointment = await world.appointment(doctor, patient, "arrived")
    key = {"idempotency-key": "issue-1"}
    first = await world.issue(doctor, appointment["id"], headers=key)
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    second = await world.issue(doctor, appointment["id"], headers=key)
    assert second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert await world.count_rows() == 1


async def test_a_replay_does_not_depend_on_the_appointment_any_more(world: World):
    doctor, patient = await world.doctor(), world.patient()
    appointment = await world.appointment(doctor, patient, "arrived")
    key = {"idempotency-key": "issue-2"}
    first = await world.issue(doctor, appointment["id"], headers=key)
    cancelled = await world.appointments.put(
        f"/appointments/{appointment['id']}", json={"status": "cancelled"}, headers=doctor.headers
    )
    assert cancelled.status_code == 200
    attempts = world.app.state.appointment_client.attempts
    again = await world.issue(doctor, appointment["id"], headers=key)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert world.app.state.appointment_client.attempts == attempts
    # Without the key it is a new request, and the appointment is cancelled now.
    assert (await world.issue(doctor, appointment["id"])).status_code == 409


async def test_the_same_key_with_another_body_is_refused(world: World):
    doctor, patient = await world.doctor(), world.patient()
    appointment = await world.appointment(doctor, patient, "arrived")
    key = {"idempotency-key": "issue-3"}
    assert (await world.issue(doctor, appointment["id"], headers=key)).status_code == 201
    other = await world.issue(doctor, appointment["id"], headers=key, medication="Something else")
    assert other.status_code == 422
    assert other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await world.count_rows() == 1


async def test_a_refusal_under_a_key_is_replayed_too(world: World):
    doctor, patient = await world.doctor(), world.patient()
    appointment = await world.appointment(doctor, patient, "booked")
    key = {"idempotency-key": "issue-4"}
    refused = await world.issue(doctor, appointment["id"], headers=key)
    assert refused.status_code == 409
    await world.appointments.put(
        f"/appointments/{appointment['id']}", json={"status": "arrived"}, headers=doctor.headers
    )
    replayed = await world.issue(doctor, appointment["id"], headers=key)
    assert replayed.status_code == 409 and replayed.headers["idempotent-replayed"] == "true"
    assert replayed.headers["content-type"] == "application/problem+json"
    assert await world.count_rows() == 0


async def test_keys_belong_to_their_caller(world: World):
    doctor_a, doctor_b, patient = await world.doctor(), await world.doctor(), world.patient()
    first = await world.appointment(doctor_a, patient, "arrived")
    second = await world.appointment(doctor_b, patient, "arrived")
    key = {"idempotency-key": "shared-key"}
    a = await world.issue(doctor_a, first["id"], headers=key)
    b = await world.issue(doctor_b, second["id"], headers=key)
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]
    async with world.app.state.db.session() as session:
        from sqlalchemy import func, select

        assert await session.scalar(select(func.count()).select_from(idempotency_keys)) == 2


async def test_a_malformed_key_is_refused(world: World):
    doctor = await world.doctor()
    response = await world.issue(doctor, uuid.uuid4(), headers={"idempotency-key": "has space"})
    assert response.status_code == 422
