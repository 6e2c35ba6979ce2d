"""The subgraph as the router sees it: entities, nested fields, batching, mutations, parity with REST."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import event

from subgraphs.appointments.appointments.models import Appointment
from subgraphs.appointments.doctors.models import DoctorProfile

from ..conftest import SqlCounter
from .conftest import WEEKDAYS_9_TO_5, AppointmentsApi, at, iso, monday, same_instant

APPOINTMENT_ENTITIES = """
query($reps: [_Any!]!) {
  _entities(representations: $reps) {
    ... on Appointment { id status startsAt patient { id } doctor { id displayName user { id } } }
  }
}
"""
USER_ENTITIES = """
query($reps: [_Any!]!) {
  _entities(representations: $reps) {
    ... on User { id appointments(limit: 5) { id doctor { displayName } } doctorProfile { id } }
  }
}
"""
DOCTOR_ENTITIES = """
query($reps: [_Any!]!) {
  _entities(representations: $reps) { ... on Doctor { id specialty appointments(limit: 10) { id patient { id } } } }
}
"""
BOOK = """
mutation($i: BookAppointmentInput!) {
  bookAppointment(input: $i) { id status startsAt endsAt reason patient { id } doctor { id } }
}
"""


async def seed(api: AppointmentsApi, patients: int, doctors: int = 10) -> tuple[list[str], list[str], list[str]]:
    """Writes `patients` appointments (one per patient) spread over `doctors`, straight to the tables."""
    doctor_ids = [uuid.uuid4() for _ in range(doctors)]
    patient_ids = [uuid.uuid4() for _ in range(patients)]
    appointment_ids = []
    async with api.db.transaction() as session:
        for index, doctor_id in enumerate(doctor_ids):
            session.add(
                DoctorProfile(
                    id=doctor_id,
                    display_name=f"Dr. {index}",
                    specialty="GP",
                    license_number=f"L{index}",
                    working_hours=WEEKDAYS_9_TO_5,
                    appointment_minutes=30,
                    timezone="UTC",
                )
            )
        await session.flush()
        for index, patient_id in enumerate(patient_ids):
            starts = at(monday(), "09:00") + timedelta(minutes=30 * (index // doctors))
            appointment = Appointment(
                patient_id=patient_id,
                doctor_id=doctor_ids[index % doctors],
                starts_at=starts,
                ends_at=starts + timedelta(minutes=30),
                status="booked",
            )
            session.add(appointment)
            await session.flush()
            appointment_ids.append(str(appointment.id))
    return [str(d) for d in doctor_ids], [str(p) for p in patient_ids], appointment_ids


def reps(typename: str, ids: list[str]) -> dict:
    return {"reps": [{"__typename": typename, "id": i} for i in ids]}


async def queries_for(api: AppointmentsApi, query: str, variables: dict) -> tuple[int, dict]:
    sql = SqlCounter(api.db.engine)
    result = await api.gql(query, variables, api.caller("admin"))
    event.remove(api.db.engine.sync_engine, "before_cursor_execute", sql._record)
    return sql.count, result


@pytest.mark.parametrize(
    ("query", "typename", "pick", "batches"),
    [
        (APPOINTMENT_ENTITIES, "Appointment", 2, 2),  # appointments, their doctors
        (USER_ENTITIES, "User", 1, 3),  # users' appointments, doctor profiles, appointments' doctors
        (DOCTOR_ENTITIES, "Doctor", 0, 2),  # doctors, their appointments
    ],
)
async def test_entities_cost_the_same_sql_for_10_and_100(api: AppointmentsApi, query, typename, pick, batches):
    doctors, patients, appointments = await seed(api, 100, doctors=100 if typename == "Doctor" else 10)
    ids = [doctors, patients, appointments][pick]
    small, small_result = await queries_for(api, query, reps(typename, ids[:10]))
    large, large_result = await queries_for(api, query, reps(typename, ids))
    assert "errors" not in large_result, large_result["errors"][:2]
    assert len(large_result["data"]["_entities"]) == 100
    assert all(entity is not None for entity in large_result["data"]["_entities"])
    assert small == large == batches, (small, large)


async def test_user_appointments_and_doctor_profile(api: AppointmentsApi):
    doctor, profile = await api.doctor()
    patient = api.caller()
    booked = await api.booked(patient, profile["id"], at(monday(), "10:00"))
    result = await api.gql(USER_ENTITIES, reps("User", [patient.id, doctor.id, "not-a-uuid"]), patient)
    mine, theirs, nobody = result["data"]["_entities"]
    assert mine == {
        "id": patient.id,
        "appointments": [{"id": booked["id"], "doctor": {"displayName": "Dr. Test"}}],
        "doctorProfile": None,
    }
    # The patient sees their appointment under their doctor too, and the doctor's public profile.
    assert theirs["appointments"] == [{"id": booked["id"], "doctor": {"displayName": "Dr. Test"}}]
    assert theirs["doctorProfile"] == {"id": profile["id"]}
    assert nobody == {"id": "not-a-uuid", "appointments": [], "doctorProfile": None}


async def test_entities_need_a_caller(api: AppointmentsApi):
    _doctor, profile = await api.doctor()
    booked = await api.booked(api.caller(), profile["id"], at(monday(), "10:00"))
    result = await api.gql(APPOINTMENT_ENTITIES, reps("Appointment", [booked["id"]]))
    assert result["data"]["_entities"] == [None]
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_book_through_graphql(api: AppointmentsApi):
    _doctor, profile = await api.doctor()
    patient = api.caller()
    starts = at(monday(), "10:00")
    result = await api.gql(
        BOOK, {"i": {"doctorId": profile["id"], "startsAt": iso(starts), "reason": "Cough"}}, patient
    )
    assert "errors" not in result, result
    booked = result["data"]["bookAppointment"]
    assert booked["status"] == "BOOKED" and booked["patient"] == {"id": patient.id}
    assert booked["doctor"] == {"id": profile["id"]}
    assert same_instant(booked["endsAt"], iso(starts + timedelta(minutes=30)))

    taken = await api.gql(BOOK, {"i": {"doctorId": profile["id"], "startsAt": iso(starts)}}, api.caller())
    assert taken["data"] == {"bookAppointment": None}
    assert taken["errors"][0]["extensions"] == {"code": "SLOT_TAKEN", "conflict": "doctor"}
    naive = await api.gql(BOOK, {"i": {"doctorId": profile["id"], "startsAt": "2030-01-07T10:00:00"}}, patient)
    assert naive["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    unknown = await api.gql(BOOK, {"i": {"doctorId": "nope", "startsAt": iso(starts)}}, patient)
    assert unknown["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    assert await api.count() == 1


async def test_update_and_cancel_through_graphql(api: AppointmentsApi):
    doctor, profile = await api.doctor()
    patient = api.caller()
    booked = await api.booked(patient, profile["id"], at(monday(), "10:00"))
    update = (
        "mutation($id: ID!, $i: AppointmentUpdateInput!) { updateAppointment(id: $id, input: $i) { status notes } }"
    )
    arrived = await api.gql(update, {"id": booked["id"], "i": {"status": "ARRIVED", "notes": "On time"}}, doctor)
    assert arrived["data"]["updateAppointment"] == {"status": "ARRIVED", "notes": "On time"}
    back = await api.gql(update, {"id": booked["id"], "i": {"status": "NOSHOW"}}, doctor)
    assert back["errors"][0]["extensions"]["code"] == "INVALID_STATUS_TRANSITION"
    refused = await api.gql(
        "mutation($id: ID!) { cancelAppointment(id: $id) { status } }", {"id": booked["id"]}, patient
    )
    assert refused["errors"][0]["extensions"]["code"] == "INVALID_STATUS_TRANSITION"
    done = await api.gql("mutation($id: ID!) { cancelAppointment(id: $id) { status } }", {"id": booked["id"]}, doctor)
    assert done["data"]["cancelAppointment"] == {"status": "CANCELLED"}


async def test_rest_and_graphql_return_the_same_data(api: AppointmentsApi):
    doctor, profile = await api.doctor()
    patient = api.caller()
    for hour in ("10:00", "11:00"):
        await api.booked(patient, profile["id"], at(monday(), hour), reason=f"at {hour}")
    fields = "id status startsAt endsAt reason notes createdAt updatedAt patient { id } doctor { id }"
    for caller in (patient, doctor, api.caller("admin")):
        rest = (await api.client.get("/appointments", headers=caller.headers)).json()["items"]
        graph = (await api.gql(f"{{ appointments {{ {fields} }} }}", caller=caller))["data"]["appointments"]
        assert len(rest) == len(graph) == 2
        for r, g in zip(rest, graph, strict=True):
            assert g["id"] == r["id"] and g["status"] == r["status"].upper()
            assert g["reason"] == r["reason"] and g["notes"] == r["notes"]
            assert g["patient"]["id"] == r["patient_id"] and g["doctor"]["id"] == r["doctor_id"]
            for camel, snake in (("startsAt", "starts_at"), ("endsAt", "ends_at"), ("createdAt", "created_at")):
                assert same_instant(g[camel], r[snake])
    rest_doctor = (await api.client.get(f"/doctors/{profile['id']}", headers=patient.headers)).json()
    graph_doctor = (
        await api.gql(
            "query($id: ID!) { doctor(id: $id) { id displayName specialty licenseNumber appointmentMinutes "
            "workingHours { weekday start end } } }",
            {"id": profile["id"]},
            patient,
        )
    )["data"]["doctor"]
    assert graph_doctor == {
        "id": rest_doctor["id"],
        "displayName": rest_doctor["display_name"],
        "specialty": rest_doctor["specialty"],
        "licenseNumber": rest_doctor["license_number"],
        "appointmentMinutes": rest_doctor["appointment_minutes"],
        "workingHours": rest_doctor["working_hours"],
    }


@pytest.mark.parametrize("path", ["graphql", "rest"])
async def test_a_booking_failing_after_its_insert_leaves_no_rows(api: AppointmentsApi, monkeypatch, path):
    """docs/pitfalls.md #1: the INSERT is flushed, then the unit of work fails; nothing may remain."""

    _doctor, profile = await api.doctor()

    async def fail_after_flush(session, *_args, **_kwargs):
        await session.flush()
        raise RuntimeError("audit store on fire")

    monkeypatch.setattr(api.app.state.audit, "append", fail_after_flush)
    patient = api.caller()
    starts = at(monday(), "10:00")
    if path == "graphql":
        result = await api.gql(BOOK, {"i": {"doctorId": profile["id"], "startsAt": iso(starts)}}, patient)
        assert result["errors"][0]["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
        assert result["errors"][0]["message"] == "Unexpected error."
    else:
        response = await api.book(patient, profile["id"], starts)
        assert response.status_code == 500
        assert "on fire" not in response.text
    assert await api.count() == 0
    monkeypatch.undo()
    assert (await api.book(patient, profile["id"], starts)).status_code == 201  # the slot was never taken


async def test_an_update_failing_after_its_flush_changes_nothing(api: AppointmentsApi, monkeypatch):

    doctor, profile = await api.doctor()
    booked = await api.booked(api.caller(), profile["id"], at(monday(), "10:00"))

    async def fail_after_flush(session, *_args, **_kwargs):
        await session.flush()
        raise RuntimeError("boom")

    monkeypatch.setattr(api.app.state.audit, "append", fail_after_flush)
    update = "mutation($id: ID!) { updateAppointment(id: $id, input: {status: ARRIVED}) { id } }"
    result = await api.gql(update, {"id": booked["id"]}, doctor)
    assert result["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert await api.statuses() == ["booked"]
