"""Routes for other services, not for clients: reachable only with the router's shared secret.

Left out of the public OpenAPI document; the appointment service calls
`/internal/active-doctors` to learn which doctor profiles are still in service
(subgraphs/appointments/doctors/roster.py).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from subgraphs.kit.graphql import router_secret_guard
from subgraphs.kit.settings import ServiceSettings

from ..deps import Users


class ActiveDoctors(BaseModel):
    doctor_ids: list[uuid.UUID]


def internal_router(settings: ServiceSettings) -> APIRouter:
    guard = router_secret_guard(settings.router_secret, settings.router_secret_header, settings.router_secret_previous)
    router = APIRouter(prefix="/internal", tags=["internal"], include_in_schema=False, dependencies=[Depends(guard)])

    @router.get("/active-doctors", response_model=ActiveDoctors)
    async def active_doctors(users: Users) -> ActiveDoctors:
        """Ids of the users who are active and whose role is doctor, whatever their profile."""
        return ActiveDoctors(doctor_ids=await users.active_doctor_ids())

    return router
