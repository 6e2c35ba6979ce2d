"""People and records made through a stack's router, for tests that need a doctor, a visit and a
prescription: the same mutations a client sends."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from .stack import Stack

# Every hour of every day: any slot a test picks is inside the doctor's working hours.
ALWAYS = [{"weekday": day, "start": "00:00", "end": "23:59"} for day in range(7)]
_hours = itertools.count(1)


def next_slot(days_ahead: int = 20) -> str:
    """A start time no other call of this module gives out: the next hour from `days_ahead`."""
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=days_ahead)
    return (start + timedelta(hours=next(_hours))).isoformat()


def doctor_with_profile(stack: Stack, name: str = "Dr E2E") -> dict:
    doctor = stack.register_and_login("DOCTOR")
    stack.data(
        "mutation($i: DoctorInput!) { createDoctorProfile(input: $i) { id } }",
        {"i": {"displayName": name, "specialty": "gp", "licenseNumber": "L-1", "workingHours": ALWAYS}},
        token=doctor["token"],
    )
    return doctor


def book(stack: Stack, token: str, doctor_id: str, starts_at: str, **more: str) -> str:
    """The id of a booking with `doctor_id` by the caller of `token` (an admin names `patientId`)."""
    return stack.data(
        "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }",
        {"i": {"doctorId": doctor_id, "startsAt": starts_at, **more}},
        token=token,
    )["bookAppointment"]["id"]


def visit(stack: Stack, patient: dict, doctor: dict, notes: str = "Visit notes") -> tuple[str, str]:
    """A booking the doctor has seen (ARRIVED, with notes) and a prescription issued at it."""
    appointment = book(stack, patient["token"], doctor["id"], next_slot())
    stack.data(
        "mutation($a: ID!, $n: String) { updateAppointment(id: $a, input: {status: ARRIVED, notes: $n}) { id } }",
        {"a": appointment, "n": notes},
        token=doctor["token"],
    )
    prescription = stack.data(
        "mutation($i: IssuePrescriptionInput!) { issuePrescription(input: $i) { id } }",
        {"i": {"appointmentId": appointment, "medication": "Paracetamol 500 mg", "dosage": "1", "frequency": "daily"}},
        token=doctor["token"],
    )["issuePrescription"]["id"]
    return appointment, prescription
