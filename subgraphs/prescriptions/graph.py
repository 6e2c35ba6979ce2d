"""The prescriptions subgraph's federated schema: `Prescription`, and fields on `User` and `Appointment`.

Resolvers are thin: input goes through the REST pydantic models (`checked`),
rules and transactions live in the service (a failed mutation rolls back its
own transaction, docs/pitfalls.md #1), reads go through the per-request loaders.
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from subgraphs.kit.errors import NotFound
from subgraphs.kit.graphql import SubgraphSchema
from subgraphs.kit.graphql_cost import PAGED_LIST
from subgraphs.kit.graphql_inputs import checked, plain
from subgraphs.kit.pagination import DEFAULT_LIMIT, PageParams

from .analytics.types import AnalyticsPrescriptions
from .appointments.types import AppointmentType
from .context import PrescriptionsContext
from .doctors.types import DoctorType
from .ids import parse_id
from .prescriptions.schemas import PrescriptionCreate, PrescriptionFilter, PrescriptionUpdate
from .prescriptions.types import (
    IssuePrescriptionInput,
    PrescriptionStatusEnum,
    PrescriptionType,
    PrescriptionUpdateInput,
)
from .users.types import UserType


def _id_or_404(value: strawberry.ID):
    parsed = parse_id(value)
    if parsed is None:
        raise NotFound("No such prescription.")
    return parsed


@strawberry.type
class Query:
    @strawberry.field(
        description="Prescriptions the caller may see, newest first (admins: FORBIDDEN).", directives=[PAGED_LIST]
    )
    async def prescriptions(
        self,
        info: Info,
        status: PrescriptionStatusEnum | None = None,
        appointment_id: strawberry.ID | None = None,
        patient_id: strawberry.ID | None = None,
        limit: int | None = DEFAULT_LIMIT,
        offset: int | None = None,
    ) -> list[PrescriptionType] | None:
        context: PrescriptionsContext = info.context
        principal = context.require_principal()
        wanted = checked(
            PrescriptionFilter,
            {
                "status": status.value if status else None,
                "appointment_id": appointment_id,
                "patient_id": patient_id,
            },
        )
        items, _ = await context.prescriptions_service.search(
            principal, wanted, PageParams.of(limit, offset), count=False
        )
        return [PrescriptionType.from_model(prescription) for prescription in items]

    @strawberry.field(description="One prescription the caller may see.")
    async def prescription(self, info: Info, id: strawberry.ID) -> PrescriptionType | None:
        context: PrescriptionsContext = info.context
        context.require_principal()
        return await context.loaders.prescriptions.load(str(_id_or_404(id)))


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Issue a prescription at an arrived or fulfilled appointment (its doctor only).")
    async def issue_prescription(self, info: Info, input: IssuePrescriptionInput) -> PrescriptionType | None:
        context: PrescriptionsContext = info.context
        principal = context.require_principal()
        body = checked(PrescriptionCreate, plain(input))
        prescription = await context.prescriptions_service.issue(principal, body, authorization=context.authorization)
        return PrescriptionType.from_model(prescription)

    @strawberry.mutation(description="Change status or instructions, naming the version read (issuing doctor only).")
    async def update_prescription(
        self, info: Info, id: strawberry.ID, input: PrescriptionUpdateInput
    ) -> PrescriptionType | None:
        context: PrescriptionsContext = info.context
        principal = context.require_principal()
        body = checked(PrescriptionUpdate, plain(input))
        prescription = await context.prescriptions_service.update(principal, _id_or_404(id), body)
        return PrescriptionType.from_model(prescription)


schema = SubgraphSchema(
    query=Query,
    mutation=Mutation,
    types=[PrescriptionType, UserType, AppointmentType, DoctorType, AnalyticsPrescriptions],
)
