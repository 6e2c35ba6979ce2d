"""Changing appointments: the FHIR status machine, who may change what, rescheduling, cancelling."""

from __future__ import annotations

import itertools

import pytest

from subgraphs.appointments.appointments.status import TRANSITIONS, Status

from .conftest import AppointmentsApi, Caller, at, iso, monday, same_instant

# How to reach each status from `booked` through allowed steps.
PATHS = {
    "booked": [],
    "arrived": ["arrived"],
    "fulfilled": ["arrived", "fulfilled"],
    "cancelled": ["cancelled"],
    "noshow": ["noshow"],
}
ALL = [status.value for status in Status]


async def setup(api: AppointmentsApi, start: str = "10:00") -> tuple[Caller, Caller, dict]:
    doctor, profile = await api.doctor()
    patient = api.caller()
    appointment = await api.booked(patient, profile["id"], at(monday(), start))
    return doctor, patient, appointment


async def put(api: AppointmentsApi, caller: Caller, appointment_id: str, **body):
    return await api.client.put(f"/appointments/{appointment_id}", json=body, headers=caller.headers)


@pytest.mark.parametrize(("current", "target"), list(itertools.product(ALL, ALL)))
async def test_every_transition_is_allowed_or_refused_as_fhir_says(api: AppointmentsApi, current, target):
    _doctor, _patient, appointment = await setup(api)
    admin = api.caller("admin")
    for step in PATHS[current]:
        assert (await put(api, admin, appointment["id"], status=step)).status_code == 200
    response = await put(api, admin, appointment["id"], status=target)
    allowed = target == current or Status(target) in TRANSITIONS[Status(current)]
    if allowed:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == target
    else:
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "INVALID_STATUS_TRANSITION"
        assert await api.statuses() == [current]


@pytest.mark.parametrize("target", ["arrived", "fulfilled", "noshow"])
async def test_patient_may_not_record_the_visit(api: AppointmentsApi, target):
    _doctor, patient, appointment = await setup(api)
    response = await put(api, patient, appointment["id"], status=target)
    assert response.status_code == 403 and response.json()["code"] == "FORBIDDEN"
    assert await api.statuses() == ["booked"]


async def test_patient_cancels_only_a_booked_appointment(api: AppointmentsApi):
    doctor, patient, appointment = await setup(api)
    assert (await put(api, doctor, appointment["id"], status="arrived")).status_code == 200
    refused = await put(api, patient, appointment["id"], status="cancelled")
    assert refused.status_code == 409 and refused.json()["code"] == "INVALID_STATUS_TRANSITION"
    _d, other_patient, other = await setup(api, "12:00")
    done = await put(api, other_patient, other["id"], status="cancelled")
    assert done.status_code == 200 and done.json()["status"] == "cancelled"


async def test_patient_may_not_write_notes_and_doctor_may(api: AppointmentsApi):
    doctor, patient, appointment = await setup(api)
    refused = await put(api, patient, appointment["id"], notes="I feel fine")
    assert refused.status_code == 403
    noted = await put(api, doctor, appointment["id"], notes="BP 120/80", status="arrived")
    assert noted.status_code == 200
    assert noted.json()["notes"] == "BP 120/80" and noted.json()["status"] == "arrived"


@pytest.mark.parametrize("field", ["starts_at", "reason"])
async def test_doctor_may_not_reschedule_or_reword(api: AppointmentsApi, field):
    doctor, _patient, appointment = await setup(api)
    value = iso(at(monday(), "11:00")) if field == "starts_at" else "changed"
    response = await put(api, doctor, appointment["id"], **{field: value})
    assert response.status_code == 403


async def test_doctor_may_not_put_an_appointment_back_to_booked(api: AppointmentsApi):
    doctor, _patient, appointment = await setup(api)
    await put(api, doctor, appointment["id"], status="arrived")
    response = await put(api, doctor, appointment["id"], status="booked")
    assert response.status_code == 403  # not a status a doctor sets, whatever the current one


async def test_patient_reschedules_keeping_the_length(api: AppointmentsApi):
    _doctor, patient, appointment = await setup(api)
    moved = await put(api, patient, appointment["id"], starts_at=iso(at(monday(), "14:00")), reason="Later")
    assert moved.status_code == 200, moved.text
    assert same_instant(moved.json()["starts_at"], iso(at(monday(), "14:00")))
    assert same_instant(moved.json()["ends_at"], iso(at(monday(), "14:30")))
    assert moved.json()["reason"] == "Later"
    # Overlapping its own old slot is fine: it is the same appointment.
    nudged = await put(api, patient, appointment["id"], starts_at=iso(at(monday(), "14:15")))
    assert nudged.status_code == 200


@pytest.mark.parametrize(
    ("start", "end", "status", "code"),
    [
        ("11:00", "10:30", 422, "INVALID_TIME_RANGE"),
        ("18:00", None, 422, "OUTSIDE_WORKING_HOURS"),
        ("12:10", None, 409, "SLOT_TAKEN"),
    ],
)
async def test_reschedule_checks_like_booking(api: AppointmentsApi, start, end, status, code):
    _doctor, patient, appointment = await setup(api)
    await api.booked(api.caller(), appointment["doctor_id"], at(monday(), "12:00"))
    body = {"starts_at": iso(at(monday(), start))}
    if end:
        body["ends_at"] = iso(at(monday(), end))
    response = await put(api, patient, appointment["id"], **body)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    current = (await api.client.get(f"/appointments/{appointment['id']}", headers=patient.headers)).json()
    assert current["starts_at"] == appointment["starts_at"]


async def test_reschedule_into_the_past_is_422(api: AppointmentsApi):
    _doctor, patient, appointment = await setup(api)
    response = await put(api, patient, appointment["id"], starts_at=iso(at(monday(weeks_ahead=-1), "10:00")))
    assert response.status_code == 422 and response.json()["code"] == "IN_THE_PAST"


@pytest.mark.parametrize("caller", ["patient", "admin"])
async def test_only_a_booked_appointment_can_move(api: AppointmentsApi, caller):
    doctor, patient, appointment = await setup(api)
    await put(api, doctor, appointment["id"], status="arrived")
    who = patient if caller == "patient" else api.caller("admin")
    response = await put(api, who, appointment["id"], starts_at=iso(at(monday(), "15:00")))
    assert response.status_code == 409 and response.json()["code"] == "NOT_BOOKED"


async def test_patient_changes_nothing_once_the_visit_started(api: AppointmentsApi):
    doctor, patient, appointment = await setup(api)
    await put(api, doctor, appointment["id"], status="arrived")
    response = await put(api, patient, appointment["id"], reason="Changed my mind")
    assert response.status_code == 409 and response.json()["code"] == "NOT_BOOKED"
    current = (await api.client.get(f"/appointments/{appointment['id']}", headers=patient.headers)).json()
    assert current["reason"] == appointment["reason"]


async def test_delete_cancels_and_keeps_the_record(api: AppointmentsApi):
    _doctor, patient, appointment = await setup(api)
    response = await api.client.delete(f"/appointments/{appointment['id']}", headers=patient.headers)
    assert response.status_code == 204 and response.content == b""
    kept = await api.client.get(f"/appointments/{appointment['id']}", headers=patient.headers)
    assert kept.status_code == 200 and kept.json()["status"] == "cancelled"
    again = await api.client.delete(f"/appointments/{appointment['id']}", headers=patient.headers)
    assert again.status_code == 204  # already cancelled: nothing to do
    assert await api.count() == 1


async def test_delete_of_a_finished_appointment_is_409(api: AppointmentsApi):
    doctor, _patient, appointment = await setup(api)
    await put(api, doctor, appointment["id"], status="arrived")
    await put(api, doctor, appointment["id"], status="fulfilled")
    response = await api.client.delete(f"/appointments/{appointment['id']}", headers=doctor.headers)
    assert response.status_code == 409 and response.json()["code"] == "INVALID_STATUS_TRANSITION"
    assert await api.statuses() == ["fulfilled"]


@pytest.mark.parametrize(
    "body",
    [{"status": "done"}, {"status": None}, {"starts_at": None}, {"notes": "x" * 4001}, {"patient_id": "x"}, {}],
)
async def test_bad_updates_are_422_and_change_nothing(api: AppointmentsApi, body):
    doctor, _patient, appointment = await setup(api)
    response = await put(api, doctor, appointment["id"], **body)
    if body == {}:  # nothing asked, nothing changed
        assert response.status_code == 200
        return
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "VALIDATION_ERROR"
    current = (await api.client.get(f"/appointments/{appointment['id']}", headers=doctor.headers)).json()
    assert current == appointment
