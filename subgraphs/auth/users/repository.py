"""SQL for users: the only module of the users domain that talks to the database."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import User


async def get(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def get_many(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, User]:
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = await session.scalars(select(User).where(User.id.in_(ids)))
    return {user.id: user for user in rows}


async def get_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.lower()))


async def email_exists(session: AsyncSession, email: str) -> bool:
    return await session.scalar(select(User.id).where(User.email == email.lower())) is not None


def add(session: AsyncSession, user: User) -> User:
    session.add(user)
    return user


def _filtered(role: str | None, q: str | None):
    statement = select(User)
    if role:
        statement = statement.where(User.role == role)
    if q:
        # Escape LIKE wildcards: a search for "50%" means the text "50%".
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(
            or_(func.lower(User.full_name).like(pattern, escape="\\"), User.email.like(pattern, escape="\\"))
        )
    return statement


async def search(
    session: AsyncSession, *, role: str | None, q: str | None, limit: int, offset: int
) -> tuple[list[User], int]:
    statement = _filtered(role, q)
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = await session.scalars(statement.order_by(User.created_at, User.id).limit(limit).offset(offset))
    return list(rows), total or 0


async def active_ids_of_role(session: AsyncSession, role: str) -> list[uuid.UUID]:
    rows = await session.scalars(select(User.id).where(User.role == role, User.is_active.is_(True)).order_by(User.id))
    return list(rows)


async def count_by_role(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(User.role, func.count()).group_by(User.role))
    return {role: count for role, count in rows.all()}


async def lock_active_admins(session: AsyncSession) -> list[uuid.UUID]:
    """Ids of active admins, locked until the transaction ends (PostgreSQL; SQLite's
    write transactions are serialized already), so two admins cannot demote each
    other at once and leave none."""
    rows = await session.scalars(
        select(User.id).where(User.role == "admin", User.is_active.is_(True)).with_for_update()
    )
    return list(rows)
