"""SQL for doctor profiles: the only module of the doctors domain that talks to the database."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import DoctorProfile


async def get(session: AsyncSession, doctor_id: uuid.UUID) -> DoctorProfile | None:
    return await session.get(DoctorProfile, doctor_id)


async def get_many(session: AsyncSession, doctor_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, DoctorProfile]:
    ids = list(set(doctor_ids))
    if not ids:
        return {}
    rows = await session.scalars(select(DoctorProfile).where(DoctorProfile.id.in_(ids)))
    return {doctor.id: doctor for doctor in rows}


async def exists(session: AsyncSession, doctor_id: uuid.UUID) -> bool:
    return await session.scalar(select(DoctorProfile.id).where(DoctorProfile.id == doctor_id)) is not None


def add(session: AsyncSession, doctor: DoctorProfile) -> DoctorProfile:
    session.add(doctor)
    return doctor


async def directory(
    session: AsyncSession, specialty: str | None, limit: int, offset: int
) -> tuple[list[DoctorProfile], int]:
    conditions = []
    if specialty:
        conditions.append(func.lower(DoctorProfile.specialty) == specialty.strip().lower())
    total = await session.scalar(select(func.count()).select_from(DoctorProfile).where(*conditions))
    rows = await session.scalars(
        select(DoctorProfile)
        .where(*conditions)
        .order_by(DoctorProfile.display_name, DoctorProfile.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0
