"""SQL for reading stored idempotent responses (the kit writes them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession


async def find(session: AsyncSession, table: Table, scope: str, owner: str, key: str) -> dict[str, Any] | None:
    row = (
        (await session.execute(select(table).where(table.c.scope == scope, table.c.owner == owner, table.c.key == key)))
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None
