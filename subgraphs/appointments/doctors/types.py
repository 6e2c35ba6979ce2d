"""GraphQL types of the doctors domain: `Doctor` (owned here), working hours, inputs."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from subgraphs.kit.errors import NotFound
from subgraphs.kit.graphql_cost import PAGED_LIST, fixed_list
from subgraphs.kit.pagination import DEFAULT_LIMIT, PageParams

from .models import DoctorProfile
from .schemas import MAX_WORKING_HOURS

if TYPE_CHECKING:
    from ..appointments.types import AppointmentStatusEnum, AppointmentType
    from ..users.types import UserType

APPOINTMENT_TYPES = "subgraphs.appointments.appointments.types"
USER_TYPES = "subgraphs.appointments.users.types"


@strawberry.type(name="WorkingHours", description="A weekly window, local time in the doctor's time zone.")
class WorkingHoursType:
    weekday: int = strawberry.field(description="0 = Monday ... 6 = Sunday")
    start: str = strawberry.field(description="Local time, HH:MM")
    end: str = strawberry.field(description="Local time, HH:MM")


@strawberry.federation.type(keys=["id"], name="Doctor")
class DoctorType:
    id: strawberry.ID = strawberry.field(description="The doctor's user id.")
    display_name: str
    specialty: str
    license_number: str
    bio: str | None
    years_experience: int | None
    working_hours: list[WorkingHoursType] = strawberry.field(directives=[fixed_list(MAX_WORKING_HOURS)])
    appointment_minutes: int
    timezone: str = strawberry.field(description="IANA name; working hours are local times in it.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, doctor: DoctorProfile) -> DoctorType:
        return cls(
            id=strawberry.ID(str(doctor.id)),
            display_name=doctor.display_name,
            specialty=doctor.specialty,
            license_number=doctor.license_number,
            bio=doctor.bio,
            years_experience=doctor.years_experience,
            working_hours=[WorkingHoursType(**window) for window in doctor.working_hours],
            appointment_minutes=doctor.appointment_minutes,
            timezone=doctor.timezone,
            created_at=doctor.created_at,
            updated_at=doctor.updated_at,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> DoctorType:
        # The router asks for many doctors at once; the loader answers them with one query.
        doctor = await info.context.loaders.doctors.load(str(id))
        if doctor is None:
            raise NotFound("No such doctor.")
        return doctor

    @strawberry.field(description="The doctor's account (resolved by the auth subgraph).")
    def user(self) -> Annotated[UserType, strawberry.lazy(USER_TYPES)] | None:
        from ..users.types import UserType

        return UserType(id=self.id)

    @strawberry.field(
        description="This doctor's appointments, as far as the caller may see them.", directives=[PAGED_LIST]
    )
    async def appointments(
        self,
        info: Info,
        status: Annotated[AppointmentStatusEnum, strawberry.lazy(APPOINTMENT_TYPES)] | None = None,
        limit: int | None = DEFAULT_LIMIT,
        offset: int | None = None,
    ) -> list[Annotated[AppointmentType, strawberry.lazy(APPOINTMENT_TYPES)]] | None:
        page = PageParams.of(limit, offset)
        key = (str(self.id), status.value if status else None, page.limit, page.offset)
        from ..appointments.types import with_doctors

        return await with_doctors(info, await info.context.loaders.doctor_appointments.load(key))


@strawberry.input(name="WorkingHoursInput")
class WorkingHoursInput:
    weekday: int
    start: str
    end: str


@strawberry.input(name="DoctorInput")
class DoctorInput:
    display_name: str
    specialty: str
    license_number: str
    bio: str | None = None
    years_experience: int | None = None
    working_hours: list[WorkingHoursInput] = strawberry.field(default_factory=list)
    appointment_minutes: int = 30
    timezone: str = "UTC"


@strawberry.input(name="DoctorUpdateInput", description="Fields left out keep their value.")
class DoctorUpdateInput:
    display_name: str | None = strawberry.UNSET
    specialty: str | None = strawberry.UNSET
    license_number: str | None = strawberry.UNSET
    bio: str | None = strawberry.UNSET
    years_experience: int | None = strawberry.UNSET
    working_hours: list[WorkingHoursInput] | None = strawberry.UNSET
    appointment_minutes: int | None = strawberry.UNSET
    timezone: str | None = strawberry.UNSET
