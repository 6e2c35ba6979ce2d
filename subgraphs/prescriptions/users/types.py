"""The `User` entity (owned by the auth subgraph) with the field this subgraph adds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from subgraphs.kit.graphql_cost import PAGED_LIST
from subgraphs.kit.pagination import DEFAULT_LIMIT, PageParams

if TYPE_CHECKING:
    from ..prescriptions.types import PrescriptionStatusEnum, PrescriptionType

PRESCRIPTION_TYPES = "subgraphs.prescriptions.prescriptions.types"


@strawberry.federation.type(keys=["id"], name="User")
class UserType:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> UserType:
        # Nothing to load or authorize here: `prescriptions` applies the caller's rules itself.
        return cls(id=id)

    @strawberry.field(
        description=(
            "Prescriptions where this user is the patient or the prescribing doctor, as far as the caller "
            "may see them, newest first. `me { prescriptions(status: ACTIVE) }` is a patient's medication list. "
            "Admins get null with a FORBIDDEN error: they see prescriptions only as aggregates."
        ),
        directives=[PAGED_LIST],
    )
    async def prescriptions(
        self,
        info: Info,
        status: Annotated[PrescriptionStatusEnum, strawberry.lazy(PRESCRIPTION_TYPES)] | None = None,
        limit: int | None = DEFAULT_LIMIT,
        offset: int | None = None,
    ) -> list[Annotated[PrescriptionType, strawberry.lazy(PRESCRIPTION_TYPES)]] | None:
        page = PageParams.of(limit, offset)
        key = (str(self.id), status.value if status else None, page.limit, page.offset)
        return await info.context.loaders.user_prescriptions.load(key)
