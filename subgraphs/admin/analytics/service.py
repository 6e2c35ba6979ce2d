"""Analytics for admins: aggregates counted by each owning service, gathered in parallel.

Only numbers cross this boundary (no names, no clinical text): each owning
service counts in its own database and answers admins only.
"""

from __future__ import annotations

import asyncio

from subgraphs.kit.db import utcnow
from subgraphs.kit.principal import Principal, require_admin

from ..upstream import Upstreams, json_or_raise
from .schemas import AnalyticsReport


class AnalyticsService:
    def __init__(self, upstreams: Upstreams) -> None:
        self.upstreams = upstreams

    async def report(self, principal: Principal, authorization: str) -> AnalyticsReport:
        require_admin(principal)
        headers = {"authorization": authorization}
        users, appointments, prescriptions = await asyncio.gather(
            self.upstreams.auth.get("/users/stats", headers=headers),
            self.upstreams.appointments.get("/appointments/stats", headers=headers),
            self.upstreams.prescriptions.get("/prescriptions/stats", headers=headers),
        )
        return AnalyticsReport(
            users=json_or_raise(users),
            appointments=json_or_raise(appointments),
            prescriptions=json_or_raise(prescriptions),
            generated_at=utcnow(),
        )
