"""The prescriptions subgraph's share of `Analytics`: counts by status, counted in its own database.

The admin subgraph owns the `analytics` entry point; the router then asks each
owning subgraph for its fields of the same `Analytics` entity, in parallel.
Admins see prescriptions only this way: numbers, no clinical text.
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info


@strawberry.type
class PrescriptionsByStatus:
    active: int
    on_hold: int
    completed: int
    cancelled: int
    stopped: int


@strawberry.type
class PrescriptionStats:
    total: int
    by_status: PrescriptionsByStatus


@strawberry.federation.type(keys=["id"], name="Analytics")
class AnalyticsPrescriptions:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> AnalyticsPrescriptions:
        return cls(id=id)

    @strawberry.field(description="Prescriptions by status (admins only).")
    async def prescriptions(self, info: Info) -> PrescriptionStats | None:
        context = info.context
        counts = await context.prescriptions_service.counts_by_status(context.require_principal())
        by_status = {status.replace("-", "_"): count for status, count in counts.items()}
        return PrescriptionStats(total=sum(counts.values()), by_status=PrescriptionsByStatus(**by_status))
