"""Rules about doctor profiles: one per doctor user, readable by every signed-in caller.

Doctor profiles are the public directory (docs/api-contract.md "Who may see what"): any signed-in user
may read any of them; only the doctor who owns one may create or change it.
The directory (`directory`, `get`) lists the profiles in service (`roster.py`);
a profile read by id for an appointment (`get_many`) is always found, so that
past appointments keep saying who the doctor was.

Audit: creating and changing a profile append their event in their own
transaction, refusals record one; directory reads are not audited (public
entries, no patient's data).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from subgraphs.kit import audit
from subgraphs.kit.audit import AuditTrail
from subgraphs.kit.db import Database
from subgraphs.kit.errors import AppError, Forbidden, NotFound
from subgraphs.kit.pagination import PageParams
from subgraphs.kit.principal import Principal

from . import repository
from .errors import ProfileExists
from .models import DoctorProfile
from .roster import DoctorRoster, Listing, admits
from .schemas import DoctorCreate, DoctorUpdate


def _require_doctor(principal: Principal) -> None:
    if not principal.is_doctor:
        raise Forbidden("Only doctors have a doctor profile.")


def audited(principal: Principal, action: str, outcome: str = audit.ALLOWED) -> audit.AuditEvent:
    """An audit event about the caller's own doctor profile (its id is their user id)."""
    return audit.event(principal, action, "doctor", principal.user_id, None, outcome)


class DoctorService:
    def __init__(self, db: Database, audit_trail: AuditTrail, roster: DoctorRoster | None = None) -> None:
        self.db = db
        self.audit = audit_trail
        # None: no auth service to ask (tests with their own keys); every profile is in service.
        self.roster = roster

    async def listing(self) -> Listing | None:
        return await self.roster.listing() if self.roster is not None else None

    async def in_directory(self, doctor_id: uuid.UUID, created_at: datetime) -> bool:
        return admits(await self.listing(), doctor_id, created_at)

    async def create(self, principal: Principal, body: DoctorCreate) -> DoctorProfile:
        try:
            return await self._create(principal, body)
        except AppError as exc:
            self.audit.record(audited(principal, "create", audit.outcome_for(exc)))
            raise

    async def _create(self, principal: Principal, body: DoctorCreate) -> DoctorProfile:
        _require_doctor(principal)
        values = body.model_dump()
        try:
            async with self.db.transaction() as session:
                if await repository.exists(session, principal.user_id):
                    raise ProfileExists("This doctor already has a profile; change it with PUT.")
                doctor = repository.add(session, DoctorProfile(id=principal.user_id, **values))
                await session.flush()
                await self.audit.append(session, audited(principal, "create"))
        except IntegrityError as exc:  # a concurrent create won the race
            raise ProfileExists("This doctor already has a profile; change it with PUT.") from exc
        return doctor

    async def own(self, principal: Principal) -> DoctorProfile:
        _require_doctor(principal)
        async with self.db.session() as session:
            doctor = await repository.get(session, principal.user_id)
        if doctor is None:
            raise NotFound("You have no doctor profile yet.")
        return doctor

    async def update(self, principal: Principal, body: DoctorUpdate) -> DoctorProfile:
        try:
            return await self._update(principal, body)
        except AppError as exc:
            self.audit.record(audited(principal, "update", audit.outcome_for(exc)))
            raise

    async def _update(self, principal: Principal, body: DoctorUpdate) -> DoctorProfile:
        _require_doctor(principal)
        changes = body.model_dump(exclude_unset=True)
        async with self.db.transaction() as session:
            doctor = await repository.get(session, principal.user_id)
            if doctor is None:
                raise NotFound("You have no doctor profile yet.")
            for field, value in changes.items():
                setattr(doctor, field, value)
            await session.flush()
            await self.audit.append(session, audited(principal, "update"))
        return doctor

    async def get(self, principal: Principal, doctor_id: uuid.UUID) -> DoctorProfile:
        """One doctor of the directory: a doctor out of service is not found here."""
        doctor = (await self.get_many(principal, [doctor_id])).get(doctor_id)
        if doctor is None or not await self.in_directory(doctor.id, doctor.created_at):
            raise NotFound("No such doctor.")
        return doctor

    async def get_many(self, principal: Principal, doctor_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, DoctorProfile]:
        # `principal` is required even though every caller may read the directory:
        # the signature keeps "who asks" explicit on every read path.
        del principal
        async with self.db.session() as session:
            return await repository.get_many(session, doctor_ids)

    async def directory(
        self, principal: Principal, specialty: str | None, page: PageParams
    ) -> tuple[list[DoctorProfile], int]:
        del principal
        listing = await self.listing()
        async with self.db.session() as session:
            return await repository.directory(session, specialty, page.limit, page.offset, listing)
