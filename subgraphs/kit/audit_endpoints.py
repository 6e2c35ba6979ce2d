"""`GET /audit`: admins read a service's trail; anyone reads who touched their own records."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel

from .audit import AuditTrail
from .openapi import problems
from .pagination import Page, PageQuery
from .security import CurrentPrincipal


class AuditEntry(BaseModel):
    seq: int
    occurred_at: datetime
    actor_id: uuid.UUID | None
    actor_role: str | None
    action: str
    resource_type: str
    resource_id: str | None
    patient_id: uuid.UUID | None
    outcome: str
    request_id: str | None


def audit_router() -> APIRouter:
    router = APIRouter(tags=["audit"], responses=problems(401, 422))

    @router.get(
        "/audit",
        response_model=Page[AuditEntry],
        summary="The audit trail: all of it for admins; events about your own records for everyone else",
    )
    async def read_audit(
        request: Request,
        principal: CurrentPrincipal,
        page: PageQuery,
        patient_id: uuid.UUID | None = None,
        actor_id: uuid.UUID | None = None,
    ) -> Page[AuditEntry]:
        trail: AuditTrail = request.app.state.audit
        if not principal.is_admin:
            # A patient sees who accessed their records; no one else's, whatever the filters say.
            patient_id, actor_id = principal.user_id, None
        rows, total = await trail.search(patient_id=patient_id, actor_id=actor_id, limit=page.limit, offset=page.offset)
        return Page(items=[AuditEntry(**row) for row in rows], total=total, limit=page.limit, offset=page.offset)

    return router
