"""SQL for refresh tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.kit.db import utcnow

from .models import RefreshToken


def add(session: AsyncSession, token: RefreshToken) -> None:
    session.add(token)


async def get_by_hash(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    return await session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash))


async def mark_used(session: AsyncSession, token_id: uuid.UUID, at: datetime) -> bool:
    """Marks an unused token used; False when another request used it first."""
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None), RefreshToken.revoked_at.is_(None))
        .values(used_at=at)
    )
    return result.rowcount == 1


async def session_ended(session: AsyncSession, session_id: str) -> bool:
    """Whether the family `session_id` names was revoked. Revocation always takes a whole
    family (logout, reuse, a password or role change), so one revoked token is enough."""
    try:
        family_id = uuid.UUID(session_id)
    except ValueError:  # never issued by this service
        return True
    revoked = select(RefreshToken.id).where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_not(None))
    return await session.scalar(revoked.limit(1)) is not None


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def revoke_all_for_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
