"""The appointments subgraph's share of `Analytics`: counts by status and upcoming, counted here.

The admin subgraph owns the `analytics` entry point; the router then asks each
owning subgraph for its fields of the same `Analytics` entity, in parallel.
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info


@strawberry.type
class AppointmentsByStatus:
    booked: int
    arrived: int
    fulfilled: int
    cancelled: int
    noshow: int


@strawberry.type
class AppointmentStats:
    total: int
    upcoming: int
    by_status: AppointmentsByStatus


@strawberry.federation.type(keys=["id"], name="Analytics")
class AnalyticsAppointments:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> AnalyticsAppointments:
        return cls(id=id)

    @strawberry.field(description="Appointments by status, and how many are upcoming (admins only).")
    async def appointments(self, info: Info) -> AppointmentStats | None:
        context = info.context
        stats = await context.appointments_service.stats(context.require_principal())
        return AppointmentStats(
            total=stats.total, upcoming=stats.upcoming, by_status=AppointmentsByStatus(**stats.by_status)
        )
