"""GraphQL types of the appointments domain: `Appointment` (owned here), its status, inputs."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from graphql import FieldNode
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
    # A plain value, not a resolver: a reference needs no work, and a resolver per row costs
    # graphql-core and Strawberry several calls each (docs/performance.md).
    patient: Annotated[UserType, strawberry.lazy(USER_TYPES)] | None = strawberry.field(
        description="The patient (resolved by the auth subgraph)."
    )
    patient_id: strawberry.Private[str]
    doctor_id: strawberry.Private[str]
    # Set by `with_doctors` when a list's doctors were loaded in one batch up front.
    preloaded_doctor: strawberry.Private[object] = None

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
            patient=_user(str(appointment.patient_id)),
            patient_id=str(appointment.patient_id),
            doctor_id=str(appointment.doctor_id),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> AppointmentType:
        # Batched and authorized by the loader: another patient's id is NOT_FOUND.
        return await info.context.loaders.appointments.load(str(id))

    @strawberry.field
    def doctor(self, info: Info) -> Annotated[DoctorType, strawberry.lazy(DOCTOR_TYPES)] | None:
        # Not `async def`: in a list the doctors are usually preloaded (`with_doctors`), and a
        # plain value costs graphql-core far less than an awaitable per row (docs/performance.md).
        if self.preloaded_doctor is not None:
            return cast("DoctorType", self.preloaded_doctor)  # `with_doctors` sets only loaded doctors
        # graphql-core awaits what a resolver returns; the annotation above is the GraphQL type.
        return self._load_doctor(info)  # type: ignore[return-value]

    async def _load_doctor(self, info: Info):
        doctor = await info.context.loaders.doctors.load(self.doctor_id)
        if doctor is None:  # cannot happen while the foreign key holds
            raise NotFound("No such doctor.")
        return doctor


def _user(user_id: str):
    from ..users.types import UserType

    return UserType(id=strawberry.ID(user_id))


async def with_doctors(info: Info, appointments: list[AppointmentType]) -> list[AppointmentType]:
    """Loads the doctors of a list of appointments in one batch when the query asks for
    `doctor` directly on them, so each row's `doctor` is a value rather than an awaitable.

    Only an optimization: the same loader (same batching, same rules) answers either way, and
    when anything is out of the ordinary (the field only inside a fragment, a failed load, a
    missing doctor) the rows resolve `doctor` one by one as before, errors included."""
    if not appointments or not _selects(info, "doctor"):
        return appointments
    try:
        doctors = await info.context.loaders.doctors.load_many([row.doctor_id for row in appointments])
    except Exception:  # noqa: BLE001 - each row then loads (and reports) on its own
        return appointments
    for row, doctor in zip(appointments, doctors, strict=True):
        if doctor is not None and not isinstance(doctor, BaseException):
            row.preloaded_doctor = doctor
    return appointments


def _selects(info: Info, name: str) -> bool:
    """Whether the field being resolved selects `name` directly (fragments are not looked into)."""
    for node in info._raw_info.field_nodes:
        if node.selection_set is None:
            continue
        for selection in node.selection_set.selections:
            if isinstance(selection, FieldNode) and selection.name.value == name:
                return True
    return False


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
