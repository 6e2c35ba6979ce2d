"""The `User` entity as this subgraph sees it: an id, plus the fields it adds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from subgraphs.kit.graphql_cost import PAGED_LIST
from subgraphs.kit.pagination import DEFAULT_LIMIT, PageParams

if TYPE_CHECKING:
    from ..appointments.types import AppointmentStatusEnum, AppointmentType
    from ..doctors.types import DoctorType

APPOINTMENT_TYPES = "subgraphs.appointments.appointments.types"
DOCTOR_TYPES = "subgraphs.appointments.doctors.types"


@strawberry.federation.type(keys=["id"], name="User")
class UserType:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> UserType:
        # Nothing to load: the user's own fields come from the auth subgraph, and
        # the fields added here load (and authorize) through their own loaders.
        return cls(id=id)

    @strawberry.field(
        description="Appointments where this user is the patient or the doctor, as far as the caller may see them.",
        directives=[PAGED_LIST],
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

        return await with_doctors(info, await info.context.loaders.user_appointments.load(key))

    @strawberry.field(description="This user's doctor profile; null when they have none.")
    async def doctor_profile(self, info: Info) -> Annotated[DoctorType, strawberry.lazy(DOCTOR_TYPES)] | None:
        return await info.context.loaders.doctors.load(str(self.id))
