"""SQL for the audit trail."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from .models import AuditEvent


async def record(
    session: AsyncSession,
    actor_id: uuid.UUID,
    action: str,
    entity: str,
    entity_id: uuid.UUID,
    **detail: Any,
) -> None:
    session.add(AuditEvent(actor_id=actor_id, action=action, entity=entity, entity_id=entity_id, detail=detail))
    await session.flush()
