"""The appointments subgraph's federated schema: `Doctor`, `Appointment`, and fields on `User`.

Resolvers are thin: input goes through the REST pydantic models (`checked`),
rules and transactions live in the services, reads go through the loaders.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from subgraphs.kit.errors import NotFound
from subgraphs.kit.graphql import SubgraphSchema
from subgraphs.kit.graphql_cost import PAGED_LIST
from subgraphs.kit.graphql_inputs import checked, plain
from subgraphs.kit.pagination import DEFAULT_LIMIT, PageParams

from .analytics.types import AnalyticsAppointments
from .appointments.schemas import AppointmentCreate, AppointmentFilter, AppointmentUpdate
from .appointments.types import (
    AppointmentStatusEnum,
    AppointmentType,
    AppointmentUpdateInput,
    BookAppointmentInput,
    with_doctors,
)
from .context import AppointmentsContext
from .doctors.schemas import DirectoryQuery, DoctorCreate, DoctorUpdate
from .doctors.types import DoctorInput, DoctorType, DoctorUpdateInput
from .ids import parse_id
from .users.types import UserType


def _id_or_404(value: strawberry.ID, what: str):
    parsed = parse_id(value)
    if parsed is None:
        raise NotFound(f"No such {what}.")
    return parsed


@strawberry.type
class Query:
    @strawberry.field(
        description="The doctor directory, optionally one specialty (case-insensitive).", directives=[PAGED_LIST]
    )
    async def doctors(
        self, info: Info, specialty: str | None = None, limit: int | None = DEFAULT_LIMIT, offset: int | None = None
    ) -> list[DoctorType] | None:
        context: AppointmentsContext = info.context
        principal = context.require_principal()
        if specialty is not None:
            specialty = checked(DirectoryQuery, {"specialty": specialty}).specialty
        items, _ = await context.doctors_service.directory(principal, specialty, PageParams.of(limit, offset))
        return [DoctorType.from_model(doctor) for doctor in items]

    @strawberry.field(description="One doctor of the directory.")
    async def doctor(self, info: Info, id: strawberry.ID) -> DoctorType | None:
        context: AppointmentsContext = info.context
        context.require_principal()
        doctor_id = _id_or_404(id, "doctor")
        doctor = await context.loaders.doctors.load(str(doctor_id))
        # Out of the directory once out of service; `Appointment.doctor` still finds the profile.
        if doctor is None or not await context.doctors_service.in_directory(doctor_id, doctor.created_at):
            raise NotFound("No such doctor.")
        return doctor

    @strawberry.field(description="Appointments the caller may see, by start time.", directives=[PAGED_LIST])
    async def appointments(
        self,
        info: Info,
        status: AppointmentStatusEnum | None = None,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
        limit: int | None = DEFAULT_LIMIT,
        offset: int | None = None,
    ) -> list[AppointmentType] | None:
        context: AppointmentsContext = info.context
        principal = context.require_principal()
        wanted = checked(
            AppointmentFilter,
            {"status": status.value if status else None, "starts_from": from_, "starts_before": to},
        )
        items, _ = await context.appointments_service.search(
            principal, wanted, PageParams.of(limit, offset), count=False
        )
        return await with_doctors(info, [AppointmentType.from_model(appointment) for appointment in items])

    @strawberry.field(description="One appointment the caller may see.")
    async def appointment(self, info: Info, id: strawberry.ID) -> AppointmentType | None:
        context: AppointmentsContext = info.context
        context.require_principal()
        return await context.loaders.appointments.load(str(_id_or_404(id, "appointment")))


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create the calling doctor's profile (once).")
    async def create_doctor_profile(self, info: Info, input: DoctorInput) -> DoctorType | None:
        context: AppointmentsContext = info.context
        principal = context.require_principal()
        doctor = await context.doctors_service.create(principal, checked(DoctorCreate, plain(input)))
        return DoctorType.from_model(doctor)

    @strawberry.mutation(description="Change the calling doctor's profile.")
    async def update_doctor_profile(self, info: Info, input: DoctorUpdateInput) -> DoctorType | None:
        context: AppointmentsContext = info.context
        principal = context.require_principal()
        doctor = await context.doctors_service.update(principal, checked(DoctorUpdate, plain(input)))
        return DoctorType.from_model(doctor)

    @strawberry.mutation(description="Book an appointment with a doctor.")
    async def book_appointment(self, info: Info, input: BookAppointmentInput) -> AppointmentType | None:
        context: AppointmentsContext = info.context
        principal = context.require_principal()
        appointment = await context.appointments_service.book(principal, checked(AppointmentCreate, plain(input)))
        return AppointmentType.from_model(appointment)

    @strawberry.mutation(description="Reschedule, change the status, reason or notes of an appointment.")
    async def update_appointment(
        self, info: Info, id: strawberry.ID, input: AppointmentUpdateInput
    ) -> AppointmentType | None:
        context: AppointmentsContext = info.context
        principal = context.require_principal()
        body = checked(AppointmentUpdate, plain(input))
        appointment = await context.appointments_service.update(principal, _id_or_404(id, "appointment"), body)
        return AppointmentType.from_model(appointment)

    @strawberry.mutation(description="Cancel an appointment; the record is kept.")
    async def cancel_appointment(self, info: Info, id: strawberry.ID) -> AppointmentType | None:
        context: AppointmentsContext = info.context
        principal = context.require_principal()
        appointment = await context.appointments_service.cancel(principal, _id_or_404(id, "appointment"))
        return AppointmentType.from_model(appointment)


schema = SubgraphSchema(
    query=Query, mutation=Mutation, types=[UserType, DoctorType, AppointmentType, AnalyticsAppointments]
)
