"""Who may see and change an appointment, and how (docs/api-contract.md "Who may see what", "Appointment service").

- A patient sees their own appointments; a doctor those where they are the
  doctor; an admin all. Anything else is "not found", never "forbidden", so an
  id does not reveal that an appointment exists.
- A patient books for themselves; an admin books for a named patient; a doctor
  does not book.
- A patient may reschedule, re-word or cancel their own appointment while it is booked.
- A doctor sets `arrived`, `fulfilled`, `noshow`, `cancelled` and `notes`.
- An admin may change anything the status machine allows.
"""

from __future__ import annotations

import uuid
from typing import Any

from subgraphs.kit.errors import Forbidden, NotFound, ValidationFailed
from subgraphs.kit.principal import Principal

from .errors import InvalidStatusTransition, NotBooked
from .models import Appointment
from .schemas import AppointmentCreate, Scope
from .status import Status, allowed

PATIENT_FIELDS = frozenset({"starts_at", "ends_at", "reason", "status"})
DOCTOR_FIELDS = frozenset({"status", "notes"})
DOCTOR_STATUSES = frozenset({Status.ARRIVED, Status.FULFILLED, Status.NOSHOW, Status.CANCELLED})


def scope_of(principal: Principal) -> Scope:
    if principal.is_admin:
        return Scope()
    if principal.is_doctor:
        return Scope(doctor_id=principal.user_id)
    return Scope(patient_id=principal.user_id)


def may_see(principal: Principal, appointment: Appointment) -> bool:
    scope = scope_of(principal)
    return (scope.patient_id is None or appointment.patient_id == scope.patient_id) and (
        scope.doctor_id is None or appointment.doctor_id == scope.doctor_id
    )


def visible_or_404(principal: Principal, appointment: Appointment | None) -> Appointment:
    if appointment is None or not may_see(principal, appointment):
        raise NotFound("No such appointment.")
    return appointment


def patient_for(principal: Principal, body: AppointmentCreate) -> uuid.UUID:
    """The patient a booking is for, or why the caller may not make it."""
    if principal.is_admin:
        if body.patient_id is None:
            raise ValidationFailed(
                "An admin must name the patient.",
                errors=[{"loc": ["body", "patient_id"], "msg": "required for admins", "type": "missing"}],
            )
        patient_id = body.patient_id
    elif principal.is_patient:
        if body.patient_id is not None:
            raise Forbidden("Only admins may name the patient; patients book for themselves.")
        patient_id = principal.user_id
    else:
        raise Forbidden("Doctors do not book appointments; patients and admins do.")
    if patient_id == body.doctor_id:
        raise ValidationFailed(
            "A doctor cannot be their own patient.",
            errors=[{"loc": ["body", "patient_id"], "msg": "equals doctor_id", "type": "value_error"}],
        )
    return patient_id


def check_change(principal: Principal, current: Status, changes: dict[str, Any]) -> None:
    """Refuses what the caller's role may never change (403), then what the status forbids (409)."""
    target: Status | None = changes.get("status")
    if principal.is_patient:
        _only(changes, PATIENT_FIELDS, "Patients may reschedule, change the reason or cancel.")
        if target not in (None, current, Status.CANCELLED):
            raise Forbidden("Patients may only cancel; the doctor records the visit.")
        if target is Status.CANCELLED and current is not Status.BOOKED and current is not target:
            raise InvalidStatusTransition("A patient may cancel only a booked appointment.")
        if current is not Status.BOOKED and set(changes) - {"status"}:
            raise NotBooked(f"This appointment is {current}; its patient may change it only while booked.")
    elif principal.is_doctor:
        _only(changes, DOCTOR_FIELDS, "Doctors set the status and notes; the patient reschedules.")
        if target not in (None, current) and target not in DOCTOR_STATUSES:
            raise Forbidden("Doctors set arrived, fulfilled, noshow or cancelled.")
    if target is not None and not allowed(current, target):
        raise InvalidStatusTransition(f"An appointment that is {current} cannot become {target}.")


def _only(changes: dict[str, Any], permitted: frozenset[str], why: str) -> None:
    refused = sorted(set(changes) - permitted)
    if refused:
        raise Forbidden(f"{why} Not yours to change: {', '.join(refused)}.")
