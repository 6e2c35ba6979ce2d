"""SQL for prescriptions: the only module of the prescriptions domain that talks to the database."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from .models import Prescription
from .schemas import PrescriptionFilter, Scope
from .status import Status

# Newest first: a medication list and a doctor's history both read best that way.
_ORDER = (Prescription.issued_at.desc(), Prescription.id.desc())


async def get(session: AsyncSession, prescription_id: uuid.UUID) -> Prescription | None:
    return await session.get(Prescription, prescription_id)


async def get_many(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Prescription]:
    ids = list(set(ids))
    if not ids:
        return {}
    rows = await session.scalars(select(Prescription).where(Prescription.id.in_(ids)))
    return {prescription.id: prescription for prescription in rows}


def add(session: AsyncSession, prescription: Prescription) -> Prescription:
    session.add(prescription)
    return prescription


async def compare_and_set(
    session: AsyncSession, prescription_id: uuid.UUID, expected_version: int, changes: dict[str, Any], now: datetime
) -> Prescription | None:
    """Applies `changes` only if the row is still at `expected_version`; None if it moved on.

    The version test is in the UPDATE's WHERE clause, so two writers that both
    read version n cannot both win: on PostgreSQL the second waits for the
    first's row lock, then finds version n+1 and updates nothing.
    """
    statement = (
        update(Prescription)
        .where(Prescription.id == prescription_id, Prescription.version == expected_version)
        .values(**changes, version=Prescription.version + 1, updated_at=now)
        .returning(Prescription)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    return (await session.scalars(statement)).first()


def _conditions(scope: Scope, wanted: PrescriptionFilter) -> list:
    conditions = []
    for column, value in (
        (Prescription.patient_id, scope.patient_id),
        (Prescription.doctor_id, scope.doctor_id),
        (Prescription.patient_id, wanted.patient_id),
        (Prescription.appointment_id, wanted.appointment_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if wanted.status is not None:
        conditions.append(Prescription.status == wanted.status.value)
    return conditions


async def page(
    session: AsyncSession, scope: Scope, wanted: PrescriptionFilter, limit: int, offset: int, *, count: bool = True
) -> tuple[list[Prescription], int | None]:
    """A page and the number of rows in all pages; `count=False` (GraphQL lists, which have no
    `total`) skips the COUNT and returns None for it."""
    conditions = _conditions(scope, wanted)
    total = await session.scalar(select(func.count()).select_from(Prescription).where(*conditions)) if count else None
    rows = await session.scalars(select(Prescription).where(*conditions).order_by(*_ORDER).limit(limit).offset(offset))
    return list(rows), (total or 0) if count else None


async def counts_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Prescription.status, func.count()).group_by(Prescription.status))
    return {status: count for status, count in rows}


async def pages_by_owner(
    session: AsyncSession,
    owners: Iterable[uuid.UUID],
    columns: tuple[InstrumentedAttribute, ...],
    *,
    scope: Scope,
    status: Status | None,
    limit: int,
    offset: int,
) -> dict[uuid.UUID, list[Prescription]]:
    """One page of prescriptions per owner, for any number of owners, in one statement.

    An owner is whatever `columns` name (a user as patient or doctor, an
    appointment). Rows are numbered per owner with a window function, so the
    page is cut in SQL however many owners are asked for.
    """
    owners = list(set(owners))
    if not owners:
        return {}
    conditions = _conditions(scope, PrescriptionFilter(status=status))
    parts: list[Select] = [
        select(
            Prescription.id.label("id"),
            column.label("owner"),
            Prescription.issued_at.label("issued_at"),
        ).where(column.in_(owners), *conditions)
        for column in columns
    ]
    pairs = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("pairs")
    ranked = select(
        pairs.c.id,
        pairs.c.owner,
        func.row_number()
        .over(partition_by=pairs.c.owner, order_by=(pairs.c.issued_at.desc(), pairs.c.id.desc()))
        .label("position"),
    ).subquery("ranked")
    rows = await session.execute(
        select(Prescription, ranked.c.owner)
        .join(ranked, ranked.c.id == Prescription.id)
        .where(and_(ranked.c.position > offset, ranked.c.position <= offset + limit))
        .order_by(ranked.c.owner, ranked.c.position)
    )
    pages: dict[uuid.UUID, list[Prescription]] = {owner: [] for owner in owners}
    for prescription, owner in rows:
        pages[owner].append(prescription)
    return pages
