"""SQL for refresh tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.kit.db import utcnow

from .models import RefreshToken


def add(session: AsyncSession, token: RefreshToken) -> None:
    session.add(token)


async def get_by_hash(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    return await session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash))


async def lock_family(session: AsyncSession, family_id: uuid.UUID) -> list[RefreshToken]:
    """The family's tokens as stored now, locked until the transaction ends (PostgreSQL; SQLite's
    write transactions are serialized already). Every rotation and revocation takes these locks
    first, so they happen one at a time, and each sees the tokens the others stored."""
    rows = await session.scalars(
        select(RefreshToken)
        .where(RefreshToken.family_id == family_id)
        .order_by(RefreshToken.id)  # one lock order everywhere: no deadlock between two of them
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def mark_used(session: AsyncSession, token_id: uuid.UUID, at: datetime) -> bool:
    """Marks an unused token used; False when another request used it first."""
    # An UPDATE's result is a CursorResult (it has the rowcount); Session.execute is typed for any statement.
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None), RefreshToken.revoked_at.is_(None))
            .values(used_at=at)
        ),
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
    """Ends the session `family_id`. Call it with the family locked (`lock_family`): an UPDATE
    alone would miss a token a concurrent rotation stores after the statement began."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def revoke_all_for_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    # Locked first for the reason `revoke_family` gives, in the same order as `lock_family`.
    await session.execute(
        select(RefreshToken.id).where(RefreshToken.user_id == user_id).order_by(RefreshToken.id).with_for_update()
    )
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
