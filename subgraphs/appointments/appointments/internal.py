"""Routes for other services, not for clients: reachable only with the router's shared secret.

Left out of the public OpenAPI document; the auth service calls
`/internal/care-relationships` to learn which patients a doctor may see.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from subgraphs.kit.graphql import router_secret_guard
from subgraphs.kit.settings import ServiceSettings

from ..deps import Appointments
from .schemas import CareAnswer, CareQuery


def internal_router(settings: ServiceSettings) -> APIRouter:
    router = APIRouter(
        prefix="/internal",
        tags=["internal"],
        include_in_schema=False,
        dependencies=[Depends(router_secret_guard(settings.router_secret, settings.router_secret_header))],
    )

    @router.post("/care-relationships", response_model=CareAnswer)
    async def care_relationships(body: CareQuery, appointments: Appointments) -> CareAnswer:
        """Those of `patient_ids` who have or had an appointment (any status) with `doctor_id`."""
        in_care = await appointments.patients_in_care(body.doctor_id, body.patient_ids)
        return CareAnswer(patient_ids=sorted(in_care, key=str))

    return router
