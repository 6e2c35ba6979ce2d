"""SQL for appointments: the only module of the appointments domain that talks to the database."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from sqlalchemy import Select, and_, func, or_, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .models import DOCTOR_OVERLAP_CONSTRAINT, PATIENT_OVERLAP_CONSTRAINT, Appointment
from .schemas import AppointmentFilter, Scope
from .status import HOLDS_SLOT, Status

Party = Literal["doctor", "patient"]
_ORDER = (Appointment.starts_at, Appointment.id)


async def get(session: AsyncSession, appointment_id: uuid.UUID) -> Appointment | None:
    return await session.get(Appointment, appointment_id)


async def get_many(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Appointment]:
    ids = list(set(ids))
    if not ids:
        return {}
    rows = await session.scalars(select(Appointment).where(Appointment.id.in_(ids)))
    return {appointment.id: appointment for appointment in rows}


def add(session: AsyncSession, appointment: Appointment) -> Appointment:
    session.add(appointment)
    return appointment


async def conflict(
    session: AsyncSession,
    *,
    doctor_id: uuid.UUID,
    patient_id: uuid.UUID,
    starts_at: datetime,
    ends_at: datetime,
    exclude_id: uuid.UUID | None = None,
) -> Party | None:
    """Whose slot-holding appointment overlaps [starts_at, ends_at): the doctor's first."""
    query = select(Appointment.doctor_id).where(
        Appointment.starts_at < ends_at,
        Appointment.ends_at > starts_at,
        Appointment.status.in_([status.value for status in HOLDS_SLOT]),
        or_(Appointment.doctor_id == doctor_id, Appointment.patient_id == patient_id),
    )
    if exclude_id is not None:
        query = query.where(Appointment.id != exclude_id)
    doctors = set(await session.scalars(query))
    if not doctors:
        return None
    return "doctor" if doctor_id in doctors else "patient"


def overlap_of(exc: IntegrityError) -> Party | None:
    """Which PostgreSQL exclusion constraint refused a row, if one did."""
    message = str(exc.orig)
    if DOCTOR_OVERLAP_CONSTRAINT in message:
        return "doctor"
    if PATIENT_OVERLAP_CONSTRAINT in message:
        return "patient"
    return None


def _conditions(scope: Scope, wanted: AppointmentFilter) -> list:
    conditions = []
    for column, value in (
        (Appointment.patient_id, scope.patient_id),
        (Appointment.doctor_id, scope.doctor_id),
        (Appointment.patient_id, wanted.patient_id),
        (Appointment.doctor_id, wanted.doctor_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if wanted.status is not None:
        conditions.append(Appointment.status == wanted.status.value)
    if wanted.starts_from is not None:
        conditions.append(Appointment.starts_at >= wanted.starts_from)
    if wanted.starts_before is not None:
        conditions.append(Appointment.starts_at < wanted.starts_before)
    return conditions


async def page(
    session: AsyncSession, scope: Scope, wanted: AppointmentFilter, limit: int, offset: int, *, count: bool = True
) -> tuple[list[Appointment], int | None]:
    """A page and the number of rows in all pages; `count=False` (GraphQL lists, which have no
    `total`) skips the COUNT and returns None for it."""
    conditions = _conditions(scope, wanted)
    total = await session.scalar(select(func.count()).select_from(Appointment).where(*conditions)) if count else None
    rows = await session.scalars(select(Appointment).where(*conditions).order_by(*_ORDER).limit(limit).offset(offset))
    return list(rows), (total or 0) if count else None


async def pages_by_owner(
    session: AsyncSession,
    owners: Iterable[uuid.UUID],
    *,
    as_doctor: bool,
    as_patient: bool,
    scope: Scope,
    status: Status | None,
    limit: int,
    offset: int,
) -> dict[uuid.UUID, list[Appointment]]:
    """One page of appointments per owner, for any number of owners, in one statement.

    An owner is the appointment's doctor (`as_doctor`) or patient (`as_patient`).
    Rows are numbered per owner with a window function, so the page is cut in
    SQL however many owners are asked for.
    """
    owners = list(set(owners))
    if not owners:
        return {}
    conditions = _conditions(scope, AppointmentFilter(status=status))
    parts: list[Select] = []
    for wanted, column in ((as_doctor, Appointment.doctor_id), (as_patient, Appointment.patient_id)):
        if wanted:
            parts.append(
                select(
                    Appointment.id.label("id"), column.label("owner"), Appointment.starts_at.label("starts_at")
                ).where(column.in_(owners), *conditions)
            )
    pairs = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("pairs")
    ranked = select(
        pairs.c.id,
        pairs.c.owner,
        func.row_number().over(partition_by=pairs.c.owner, order_by=(pairs.c.starts_at, pairs.c.id)).label("position"),
    ).subquery("ranked")
    rows = await session.execute(
        select(Appointment, ranked.c.owner)
        .join(ranked, ranked.c.id == Appointment.id)
        .where(and_(ranked.c.position > offset, ranked.c.position <= offset + limit))
        .order_by(ranked.c.owner, ranked.c.position)
    )
    pages: dict[uuid.UUID, list[Appointment]] = {owner: [] for owner in owners}
    for appointment, owner in rows:
        pages[owner].append(appointment)
    return pages


async def patients_seen_by(
    session: AsyncSession, doctor_id: uuid.UUID, patient_ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    """Those of `patient_ids` with any appointment, in any status, with `doctor_id`."""
    ids = list(set(patient_ids))
    if not ids:
        return set()
    rows = await session.scalars(
        select(Appointment.patient_id)
        .where(Appointment.doctor_id == doctor_id, Appointment.patient_id.in_(ids))
        .distinct()
    )
    return set(rows)


async def counts_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Appointment.status, func.count()).group_by(Appointment.status))
    return {status: count for status, count in rows.all()}


async def count_upcoming(session: AsyncSession, now: datetime) -> int:
    """Appointments still to happen: holding a slot and not yet started."""
    return (
        await session.scalar(
            select(func.count()).where(
                Appointment.status.in_([s.value for s in HOLDS_SLOT]), Appointment.starts_at > now
            )
        )
        or 0
    )
