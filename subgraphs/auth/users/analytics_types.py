"""The auth subgraph's share of `Analytics`: user counts, counted in its own database.

The admin subgraph owns the `analytics` entry point; the router then asks each
owning subgraph for its fields of the same `Analytics` entity, in parallel.
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info


@strawberry.type
class UsersByRole:
    patient: int
    doctor: int
    admin: int


@strawberry.type
class UserStats:
    total: int
    by_role: UsersByRole


@strawberry.federation.type(keys=["id"], name="Analytics")
class AnalyticsUsers:
    id: strawberry.ID

    @strawberry.field(description="Users by role (admins only).")
    async def users(self, info: Info) -> UserStats | None:
        context = info.context
        counts = await context.user_management.counts_by_role(context.require_principal())
        return UserStats(total=sum(counts.values()), by_role=UsersByRole(**counts))

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> AnalyticsUsers:
        return cls(id=id)
