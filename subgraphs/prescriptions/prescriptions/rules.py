"""Who may see, issue and change a prescription (docs/api-contract.md "Who may see what", "Prescription service").

- A patient sees their own prescriptions; a doctor those they issued. An admin
  sees none in detail (aggregates belong to analytics): every read is 403 for
  admins, on REST and GraphQL alike, so "no prescriptions" is never implied.
- Anything else a caller may not see is "not found", never "forbidden", so an
  id does not reveal that a prescription exists.
- Only a doctor issues, and only for an appointment where they are the doctor
  and the patient arrived (or the visit is over).
- Only the doctor who issued a prescription changes it; patients and admins never do.
"""

from __future__ import annotations

from typing import Any

from subgraphs.kit.errors import Forbidden, NotFound
from subgraphs.kit.principal import Principal

from .errors import AppointmentNotEligible, AppointmentNotFound, InvalidStatusTransition, PrescriptionClosed
from .models import Prescription
from .remote import AppointmentSnapshot
from .schemas import Scope
from .status import FINAL, Status, allowed

# The visit took place: FHIR Appointment `arrived` (in progress) or `fulfilled` (done).
PRESCRIBABLE = frozenset({"arrived", "fulfilled"})


def scope_of(principal: Principal) -> Scope:
    if principal.is_patient:
        return Scope(patient_id=principal.user_id)
    if principal.is_doctor:
        return Scope(doctor_id=principal.user_id)
    raise Forbidden("Admins see prescriptions only as aggregates (GET /admin/analytics).")


def may_see(scope: Scope, prescription: Prescription) -> bool:
    return (scope.patient_id is None or prescription.patient_id == scope.patient_id) and (
        scope.doctor_id is None or prescription.doctor_id == scope.doctor_id
    )


def visible_or_404(principal: Principal, prescription: Prescription | None) -> Prescription:
    scope = scope_of(principal)
    if prescription is None or not may_see(scope, prescription):
        raise NotFound("No such prescription.")
    return prescription


def require_doctor(principal: Principal, action: str) -> None:
    if not principal.is_doctor:
        raise Forbidden(f"Only doctors {action} prescriptions.")


def prescribable(principal: Principal, appointment: AppointmentSnapshot | None) -> AppointmentSnapshot:
    """The appointment, if the calling doctor may prescribe at it now."""
    # The appointment service already answers 404 to a doctor who is not this
    # appointment's; the doctor check repeats it so a mistake there cannot
    # let one doctor prescribe in another's name.
    if appointment is None or appointment.doctor_id != principal.user_id:
        raise AppointmentNotFound("No such appointment.")
    if appointment.status not in PRESCRIBABLE:
        raise AppointmentNotEligible(
            f"The appointment is {appointment.status}; prescriptions are issued once the patient arrived.",
            appointment_status=appointment.status,
        )
    return appointment


def check_change(current: Status, changes: dict[str, Any]) -> None:
    if current in FINAL:
        raise PrescriptionClosed(f"This prescription is {current}; issue a new one instead.")
    target: Status | None = changes.get("status")
    if target is not None and not allowed(current, target):
        raise InvalidStatusTransition(f"A prescription that is {current} cannot become {target}.")
