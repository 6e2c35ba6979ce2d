"""Booking integrity: working hours, the past, time ranges, overlaps, and the double-booking race."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from subgraphs.appointments.appointments.models import Appointment

from .conftest import AppointmentsApi, at, iso, monday, same_instant


async def test_patient_books_with_default_length(api: AppointmentsApi):
    _doctor, profile = await api.doctor(appointment_minutes=20)
    patient = api.caller()
    day = monday()
    response = await api.book(patient, profile["id"], at(day, "10:00"), reason="Check-up")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["patient_id"] == patient.id and body["doctor_id"] == profile["id"]
    assert body["status"] == "booked" and body["reason"] == "Check-up" and body["notes"] is None
    assert same_instant(body["starts_at"], iso(at(day, "10:00")))
    assert same_instant(body["ends_at"], iso(at(day, "10:20")))
    assert await api.count() == 1
    trail = api.app.state.audit.table
    assert await api.count(trail, trail.c.action == "create", trail.c.resource_type == "appointment") == 1


async def test_explicit_end_and_offsets_are_stored_in_utc(api: AppointmentsApi):
    _doctor, profile = await api.doctor()
    patient = api.caller()
    day = monday()
    starts = (at(day, "10:00") + timedelta(hours=1)).isoformat().replace("+00:00", "+01:00")  # 10:00Z
    response = await api.client.post(
        "/appointments",
        json={"doctor_id": profile["id"], "starts_at": starts, "ends_at": iso(at(day, "10:45"))},
        headers=patient.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["starts_at"] == iso(at(day, "10:00"))
    assert same_instant(response.json()["ends_at"], iso(at(day, "10:45")))


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        ("10:00", "10:00", "INVALID_TIME_RANGE"),
        ("10:00", "09:30", "INVALID_TIME_RANGE"),
        ("08:30", None, "OUTSIDE_WORKING_HOURS"),  # before opening
        ("16:45", None, "OUTSIDE_WORKING_HOURS"),  # runs past closing
        ("16:30", None, None),  # ends exactly at closing
        ("09:00", None, None),  # starts exactly at opening
    ],
)
async def test_time_range_and_working_hours(api: AppointmentsApi, start, end, code):
    _doctor, profile = await api.doctor()
    day = monday()
    fields = {"ends_at": iso(at(day, end))} if end else {}
    response = await api.book(api.caller(), profile["id"], at(day, start), **fields)
    if code is None:
        assert response.status_code == 201, response.text
        return
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert await api.count() == 0


async def test_weekend_is_outside_working_hours(api: AppointmentsApi):
    _doctor, profile = await api.doctor()
    response = await api.book(api.caller(), profile["id"], at(monday(), "10:00", days=5))  # Saturday
    assert response.status_code == 422
    assert response.json()["code"] == "OUTSIDE_WORKING_HOURS"


async def test_working_hours_are_read_in_the_doctors_time_zone(api: AppointmentsApi):
    # 09:00-17:00 New York time, whether daylight saving is on or off that Monday.
    _doctor, profile = await api.doctor(
        timezone="America/New_York", working_hours=[{"weekday": 0, "start": "09:00", "end": "17:00"}]
    )
    from zoneinfo import ZoneInfo

    day = monday().replace(tzinfo=None)
    local_nine = day.replace(hour=9).replace(tzinfo=ZoneInfo("America/New_York"))
    ok = await api.book(api.caller(), profile["id"], local_nine)
    assert ok.status_code == 201, ok.text
    assert same_instant(ok.json()["starts_at"], local_nine.isoformat())
    utc_nine = await api.book(api.caller(), profile["id"], at(monday(), "09:00"))  # 04:00 or 05:00 in New York
    assert utc_nine.status_code == 422
    assert utc_nine.json()["code"] == "OUTSIDE_WORKING_HOURS"


async def test_touching_windows_admit_an_appointment_across_them(api: AppointmentsApi):
    hours = [{"weekday": 0, "start": "09:00", "end": "12:00"}, {"weekday": 0, "start": "12:00", "end": "17:00"}]
    _doctor, profile = await api.doctor(working_hours=hours)
    response = await api.book(api.caller(), profile["id"], at(monday(), "11:45"))
    assert response.status_code == 201, response.text


async def test_in_the_past_is_422(api: AppointmentsApi):
    _doctor, profile = await api.doctor(
        working_hours=[{"weekday": d, "start": "00:00", "end": "23:59"} for d in range(7)]
    )
    response = await api.book(api.caller(), profile["id"], at(monday(weeks_ahead=-1), "10:00"))
    assert response.status_code == 422
    assert response.json()["code"] == "IN_THE_PAST"
    assert await api.count() == 0


async def test_unknown_doctor_is_404_doctor_not_found(api: AppointmentsApi):
    response = await api.book(api.caller(), str(uuid.uuid4()), at(monday(), "10:00"))
    assert response.status_code == 404
    assert response.json()["code"] == "DOCTOR_NOT_FOUND"


async def test_overlap_with_the_doctor_is_slot_taken(api: AppointmentsApi):
    _doctor, profile = await api.doctor()
    day = monday()
    await api.booked(api.caller(), profile["id"], at(day, "10:00"))  # 10:00-10:30
    for start in ("10:00", "09:45", "10:15"):
        response = await api.book(api.caller(), profile["id"], at(day, start))
        assert response.status_code == 409, start
        assert response.json()["code"] == "SLOT_TAKEN"
        assert response.json()["conflict"] == "doctor"
    # Back to back is not an overlap: ranges are half-open.
    assert (await api.book(api.caller(), profile["id"], at(day, "10:30"))).status_code == 201
    assert (await api.book(api.caller(), profile["id"], at(day, "09:30"))).status_code == 201
    assert await api.count() == 3


async def test_overlap_with_the_patient_is_slot_taken(api: AppointmentsApi):
    _a, first = await api.doctor()
    _b, second = await api.doctor()
    patient = api.caller()
    day = monday()
    await api.booked(patient, first["id"], at(day, "10:00"))
    response = await api.book(patient, second["id"], at(day, "10:15"))
    assert response.status_code == 409
    assert response.json()["code"] == "SLOT_TAKEN" and response.json()["conflict"] == "patient"
    assert await api.count() == 1


@pytest.mark.parametrize(("status", "frees"), [("cancelled", True), ("noshow", True), ("arrived", False)])
async def test_only_booked_and_arrived_hold_the_slot(api: AppointmentsApi, status, frees):
    doctor, profile = await api.doctor()
    day = monday()
    first = await api.booked(api.caller(), profile["id"], at(day, "10:00"))
    changed = await api.client.put(f"/appointments/{first['id']}", json={"status": status}, headers=doctor.headers)
    assert changed.status_code == 200, changed.text
    again = await api.book(api.caller(), profile["id"], at(day, "10:00"))
    assert again.status_code == (201 if frees else 409)


async def test_booking_roles(api: AppointmentsApi):
    doctor, profile = await api.doctor()
    day = monday()
    patient = api.caller()
    by_doctor = await api.book(doctor, profile["id"], at(day, "10:00"))
    assert by_doctor.status_code == 403 and by_doctor.json()["code"] == "FORBIDDEN"
    for_someone_else = await api.book(patient, profile["id"], at(day, "10:00"), patient_id=api.caller().id)
    assert for_someone_else.status_code == 403
    admin = api.caller("admin")
    no_patient = await api.book(admin, profile["id"], at(day, "10:00"))
    assert no_patient.status_code == 422 and no_patient.json()["code"] == "VALIDATION_ERROR"
    self_care = await api.book(admin, profile["id"], at(day, "10:00"), patient_id=profile["id"])
    assert self_care.status_code == 422
    assert await api.count() == 0
    by_admin = await api.book(admin, profile["id"], at(day, "10:00"), patient_id=patient.id)
    assert by_admin.status_code == 201 and by_admin.json()["patient_id"] == patient.id


@pytest.mark.parametrize("same_patient", [False, True])
async def test_concurrent_bookings_of_one_slot_exactly_one_wins(api: AppointmentsApi, same_patient):
    """Many requests at once for one slot: one 201, every other a 409 SLOT_TAKEN, one row."""
    _doctor, profile = await api.doctor()
    starts = at(monday(), "11:00")
    shared = api.caller()
    patients = [shared if same_patient else api.caller() for _ in range(12)]
    responses = await asyncio.gather(*(api.book(p, profile["id"], starts) for p in patients))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 11, [r.text for r in responses if r.status_code not in (201, 409)]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"SLOT_TAKEN"}
    assert await api.count() == 1


async def test_concurrent_overlapping_bookings_of_one_patient_exactly_one_wins(api: AppointmentsApi):
    doctors = [(await api.doctor())[1] for _ in range(6)]
    patient = api.caller()
    day = monday()
    responses = await asyncio.gather(
        *(api.book(patient, d["id"], at(day, "11:00") + timedelta(minutes=5 * i)) for i, d in enumerate(doctors))
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5
    assert await api.count() == 1


# Exclusion constraints exist on PostgreSQL only; SQLite serializes writers instead.
postgresql_only = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@postgresql_only
async def test_postgresql_refuses_overlaps_even_past_the_service(api: AppointmentsApi):
    """The exclusion constraints hold on their own: a row written around the service is refused."""
    _doctor, profile = await api.doctor()
    await api.booked(api.caller(), profile["id"], at(monday(), "10:00"))

    def overlapping(status: str) -> Appointment:
        return Appointment(
            patient_id=uuid.uuid4(),
            doctor_id=uuid.UUID(profile["id"]),
            starts_at=at(monday(), "10:10"),
            ends_at=at(monday(), "10:20"),
            status=status,
        )

    with pytest.raises(IntegrityError, match="appointments_doctor_no_overlap"):
        async with api.db.transaction() as session:
            session.add(overlapping("arrived"))
    # The constraints are partial: a cancelled appointment may overlap anything.
    async with api.db.transaction() as session:
        session.add(overlapping("cancelled"))
    assert await api.statuses() == ["booked", "cancelled"]


@postgresql_only
async def test_postgresql_race_is_decided_by_the_constraint_alone(api: AppointmentsApi, monkeypatch):
    """With the service's own overlap check switched off, PostgreSQL still lets exactly one booking in."""
    from subgraphs.appointments.appointments import repository

    async def no_conflict(*_args, **_kwargs):
        return None

    monkeypatch.setattr(repository, "conflict", no_conflict)
    _doctor, profile = await api.doctor()
    starts = at(monday(), "14:00")
    responses = await asyncio.gather(*(api.book(api.caller(), profile["id"], starts) for _ in range(8)))
    assert sorted(r.status_code for r in responses) == [201] + [409] * 7
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"SLOT_TAKEN"}
    assert await api.count() == 1


class _PostgresError(Exception):
    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.sqlstate = state


class _SessionFailingToFlush:
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def flush(self) -> None:
        raise self.error


async def test_a_deadlock_between_two_bookings_is_slot_taken_and_other_database_errors_are_not():
    """PostgreSQL can roll back one of two overlapping inserts as a deadlock's victim (40P01)
    instead of refusing it by the constraint; that booking lost the slot all the same. Seen in
    test_postgresql_race_is_decided_by_the_constraint_alone now and then; raised here at will."""
    from sqlalchemy.exc import DBAPIError

    from subgraphs.appointments.appointments.errors import SlotTaken
    from subgraphs.appointments.appointments.service import AppointmentService

    deadlock = DBAPIError("INSERT INTO appointments ...", None, _PostgresError("40P01"))
    with pytest.raises(SlotTaken):
        await AppointmentService._flush(_SessionFailingToFlush(deadlock))

    syntax = DBAPIError("INSERT INTO appointments ...", None, _PostgresError("42601"))
    with pytest.raises(DBAPIError):
        await AppointmentService._flush(_SessionFailingToFlush(syntax))
