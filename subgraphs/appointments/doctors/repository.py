"""SQL for doctor profiles: the only module of the doctors domain that talks to the database."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import DoctorProfile
from .roster import Listing


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
    session: AsyncSession, specialty: str | None, limit: int, offset: int, listing: Listing | None
) -> tuple[list[DoctorProfile], int]:
    conditions = []
    if listing is not None:  # the profiles in service (roster.py), in the same two statements
        conditions.append(
            or_(DoctorProfile.id.in_(sorted(listing.doctor_ids)), DoctorProfile.created_at > listing.asked_at)
        )
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
