"""GraphQL types of the appointments domain: `Appointment` (owned here), its status, inputs."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from subgraphs.kit.errors import NotFound

from .models import Appointment

if TYPE_CHECKING:
    from ..doctors.types import DoctorType
    from ..users.types import UserType

DOCTOR_TYPES = "subgraphs.appointments.doctors.types"
USER_TYPES = "subgraphs.appointments.users.types"


@strawberry.enum(name="AppointmentStatus")
class AppointmentStatusEnum(Enum):
    BOOKED = "booked"
    ARRIVED = "arrived"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    NOSHOW = "noshow"


@strawberry.federation.type(keys=["id"], name="Appointment")
class AppointmentType:
    id: strawberry.ID
    starts_at: datetime
    ends_at: datetime
    status: AppointmentStatusEnum
    reason: str | None
    notes: str | None
    created_at: datetime
    updated_at: datetime
    patient_id: strawberry.Private[str]
    doctor_id: strawberry.Private[str]

    @classmethod
    def from_model(cls, appointment: Appointment) -> AppointmentType:
        return cls(
            id=strawberry.ID(str(appointment.id)),
            starts_at=appointment.starts_at,
            ends_at=appointment.ends_at,
            status=AppointmentStatusEnum(appointment.status),
            reason=appointment.reason,
            notes=appointment.notes,
            created_at=appointment.created_at,
            updated_at=appointment.updated_at,
            patient_id=str(appointment.patient_id),
            doctor_id=str(appointment.doctor_id),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> AppointmentType:
        # Batched and authorized by the loader: another patient's id is NOT_FOUND.
        return await info.context.loaders.appointments.load(str(id))

    @strawberry.field(description="The patient (resolved by the auth subgraph).")
    def patient(self) -> Annotated[UserType, strawberry.lazy(USER_TYPES)]:
        from ..users.types import UserType

        return UserType(id=strawberry.ID(self.patient_id))

    @strawberry.field
    async def doctor(self, info: Info) -> Annotated[DoctorType, strawberry.lazy(DOCTOR_TYPES)]:
        doctor = await info.context.loaders.doctors.load(self.doctor_id)
        if doctor is None:  # cannot happen while the foreign key holds
            raise NotFound("No such doctor.")
        return doctor


@strawberry.input(name="BookAppointmentInput")
class BookAppointmentInput:
    doctor_id: strawberry.ID
    starts_at: datetime
    ends_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="Default: startsAt + the doctor's appointmentMinutes."
    )
    reason: str | None = strawberry.UNSET
    patient_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Admins only: the patient booked for."
    )


@strawberry.input(name="AppointmentUpdateInput", description="Fields left out keep their value.")
class AppointmentUpdateInput:
    starts_at: datetime | None = strawberry.UNSET
    ends_at: datetime | None = strawberry.UNSET
    status: AppointmentStatusEnum | None = strawberry.UNSET
    reason: str | None = strawberry.UNSET
    notes: str | None = strawberry.UNSET
