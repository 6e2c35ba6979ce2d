"""GraphQL types of the prescriptions domain: `Prescription` (owned here), its status, inputs."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from .models import Prescription

if TYPE_CHECKING:
    from ..appointments.types import AppointmentType
    from ..doctors.types import DoctorType
    from ..users.types import UserType

APPOINTMENT_TYPES = "subgraphs.prescriptions.appointments.types"
DOCTOR_TYPES = "subgraphs.prescriptions.doctors.types"
USER_TYPES = "subgraphs.prescriptions.users.types"


@strawberry.enum(name="PrescriptionStatus", description="FHIR R4 MedicationRequest status.")
class PrescriptionStatusEnum(Enum):
    ACTIVE = "active"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    STOPPED = "stopped"


@strawberry.federation.type(keys=["id"], name="Prescription")
class PrescriptionType:
    id: strawberry.ID
    medication: str
    dosage: str
    frequency: str
    duration_days: int | None
    refills: int = strawberry.field(description="Refills left.")
    instructions: str | None
    status: PrescriptionStatusEnum
    version: int = strawberry.field(description="Pass it back to updatePrescription (optimistic concurrency).")
    issued_at: datetime
    updated_at: datetime
    ends_on: date | None = strawberry.field(description="Last day of the course: issue date + durationDays.")
    appointment_id: strawberry.Private[str]
    patient_id: strawberry.Private[str]
    doctor_id: strawberry.Private[str]

    @classmethod
    def from_model(cls, prescription: Prescription) -> PrescriptionType:
        return cls(
            id=strawberry.ID(str(prescription.id)),
            medication=prescription.medication,
            dosage=prescription.dosage,
            frequency=prescription.frequency,
            duration_days=prescription.duration_days,
            refills=prescription.refills,
            instructions=prescription.instructions,
            status=PrescriptionStatusEnum(prescription.status),
            version=prescription.version,
            issued_at=prescription.issued_at,
            updated_at=prescription.updated_at,
            ends_on=prescription.ends_on,
            appointment_id=str(prescription.appointment_id),
            patient_id=str(prescription.patient_id),
            doctor_id=str(prescription.doctor_id),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> PrescriptionType:
        # Batched and authorized by the loader: another patient's id is NOT_FOUND, an admin's FORBIDDEN.
        return await info.context.loaders.prescriptions.load(str(id))

    # References: the router fetches these entities' fields from the subgraphs
    # that own them, with the caller's token, so their own rules apply there.
    @strawberry.field(description="The appointment it was issued at (resolved by the appointments subgraph).")
    def appointment(self) -> Annotated[AppointmentType, strawberry.lazy(APPOINTMENT_TYPES)] | None:
        from ..appointments.types import AppointmentType

        return AppointmentType(id=strawberry.ID(self.appointment_id))

    @strawberry.field(description="The patient (resolved by the auth subgraph).")
    def patient(self) -> Annotated[UserType, strawberry.lazy(USER_TYPES)] | None:
        from ..users.types import UserType

        return UserType(id=strawberry.ID(self.patient_id))

    @strawberry.field(description="The prescribing doctor (resolved by the appointments subgraph).")
    def doctor(self) -> Annotated[DoctorType, strawberry.lazy(DOCTOR_TYPES)] | None:
        from ..doctors.types import DoctorType

        return DoctorType(id=strawberry.ID(self.doctor_id))


@strawberry.input(name="IssuePrescriptionInput")
class IssuePrescriptionInput:
    appointment_id: strawberry.ID
    medication: str
    dosage: str
    frequency: str
    duration_days: int | None = strawberry.UNSET
    refills: int = strawberry.field(default=0, description="0-12.")
    instructions: str | None = strawberry.UNSET


@strawberry.input(
    name="PrescriptionUpdateInput",
    description="Status and instructions only: medication, dosage and frequency never change once issued.",
)
class PrescriptionUpdateInput:
    version: int = strawberry.field(description="The version read; a stale one is VERSION_CONFLICT.")
    status: PrescriptionStatusEnum | None = strawberry.UNSET
    instructions: str | None = strawberry.field(default=strawberry.UNSET, description="null clears them.")
