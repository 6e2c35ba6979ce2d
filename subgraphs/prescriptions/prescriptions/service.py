"""Issuing, reading and changing prescriptions; every rule and transaction lives here.

Issuing asks the appointment service first, outside any transaction: a slow
or failing network call must hold no database lock, and when it fails
(`DependencyUnavailable`) nothing has been written. The checks on its answer
and the INSERT then run in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.kit.db import Database, utcnow
from subgraphs.kit.idempotency import StoredResponse, fingerprint
from subgraphs.kit.pagination import PageParams
from subgraphs.kit.principal import Principal, require_admin

from ..audit import repository as audit
from ..idempotency.replays import ReplayableWrites
from . import repository, rules
from .errors import VersionConflict
from .models import Prescription
from .remote import AppointmentLookup, AppointmentSnapshot
from .schemas import PrescriptionCreate, PrescriptionFilter, PrescriptionOut, PrescriptionUpdate
from .status import Status

ISSUE_SCOPE = "POST /prescriptions"


class PrescriptionService:
    def __init__(
        self,
        db: Database,
        appointments: AppointmentLookup,
        idempotency: ReplayableWrites,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.appointments = appointments
        self.idempotency = idempotency
        self.clock = clock

    # -- issuing -------------------------------------------------------------

    async def issue(self, principal: Principal, body: PrescriptionCreate, *, authorization: str | None) -> Prescription:
        """`authorization` is the caller's own header, forwarded so the appointment service authorizes them too."""
        rules.require_doctor(principal, "issue")
        appointment = await self.appointments.find(body.appointment_id, authorization=authorization)
        async with self.db.transaction() as session:
            return await self._issue(session, principal, body, appointment)

    async def issue_once(
        self, principal: Principal, body: PrescriptionCreate, key: str, *, authorization: str | None
    ) -> StoredResponse:
        """`issue` under an `Idempotency-Key`: a repeat returns the first response and issues nothing.

        Refusals that depend on the appointment (404, 409) are stored and replayed
        like a success; an unavailable appointment service is not: nothing was
        decided, so the same key may be tried again.
        """
        rules.require_doctor(principal, "issue")
        owner, digest = str(principal.user_id), fingerprint(body.model_dump(mode="json"))
        stored = await self.idempotency.replay(scope=ISSUE_SCOPE, owner=owner, key=key, fingerprint=digest)
        if stored is not None:
            return stored
        appointment = await self.appointments.find(body.appointment_id, authorization=authorization)

        async def write(session: AsyncSession) -> StoredResponse:
            prescription = await self._issue(session, principal, body, appointment)
            return StoredResponse(201, PrescriptionOut.model_validate(prescription).model_dump(mode="json"))

        return await self.idempotency.run(scope=ISSUE_SCOPE, owner=owner, key=key, fingerprint=digest, write=write)

    async def _issue(
        self,
        session: AsyncSession,
        principal: Principal,
        body: PrescriptionCreate,
        appointment: AppointmentSnapshot | None,
    ) -> Prescription:
        appointment = rules.prescribable(principal, appointment)
        now = self.clock()
        prescription = repository.add(
            session,
            Prescription(
                appointment_id=appointment.id,
                patient_id=appointment.patient_id,
                doctor_id=principal.user_id,
                status=Status.ACTIVE.value,
                version=1,
                issued_at=now,
                updated_at=now,
                **body.model_dump(exclude={"appointment_id"}),
            ),
        )
        await session.flush()
        await audit.record(
            session, principal.user_id, "prescription.issued", "prescription", prescription.id,
            appointment_id=str(appointment.id), patient_id=str(appointment.patient_id),
        )  # fmt: skip
        return prescription

    # -- reading -------------------------------------------------------------

    async def get(self, principal: Principal, prescription_id: uuid.UUID) -> Prescription:
        rules.scope_of(principal)  # admins are refused before the database is asked
        async with self.db.session() as session:
            prescription = await repository.get(session, prescription_id)
        return rules.visible_or_404(principal, prescription)

    async def get_many(self, principal: Principal, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Prescription]:
        """Those of `ids` the caller may see; the others are simply absent."""
        scope = rules.scope_of(principal)
        async with self.db.session() as session:
            found = await repository.get_many(session, ids)
        return {key: value for key, value in found.items() if rules.may_see(scope, value)}

    async def search(
        self, principal: Principal, wanted: PrescriptionFilter, page: PageParams
    ) -> tuple[list[Prescription], int]:
        scope = rules.scope_of(principal)
        async with self.db.session() as session:
            return await repository.page(session, scope, wanted, page.limit, page.offset)

    async def pages_for_users(
        self, principal: Principal, user_ids: Iterable[uuid.UUID], status: Status | None, page: PageParams
    ) -> dict[uuid.UUID, list[Prescription]]:
        """Per user, the prescriptions where they are the patient or the prescriber, as far as the caller may see."""
        columns = (Prescription.patient_id, Prescription.doctor_id)
        return await self._pages(principal, user_ids, columns, status, page)

    async def pages_for_appointments(
        self, principal: Principal, appointment_ids: Iterable[uuid.UUID], status: Status | None, page: PageParams
    ) -> dict[uuid.UUID, list[Prescription]]:
        return await self._pages(principal, appointment_ids, (Prescription.appointment_id,), status, page)

    async def _pages(self, principal, owners, columns, status, page) -> dict[uuid.UUID, list[Prescription]]:
        scope = rules.scope_of(principal)
        async with self.db.session() as session:
            return await repository.pages_by_owner(
                session, owners, columns, scope=scope, status=status, limit=page.limit, offset=page.offset
            )

    async def counts_by_status(self, principal: Principal) -> dict[str, int]:
        """How many prescriptions are in each status (every status listed): the only view admins have."""
        require_admin(principal)
        async with self.db.session() as session:
            counts = await repository.counts_by_status(session)
        return {status.value: counts.get(status.value, 0) for status in Status}

    # -- changing ------------------------------------------------------------

    async def update(self, principal: Principal, prescription_id: uuid.UUID, body: PrescriptionUpdate) -> Prescription:
        rules.require_doctor(principal, "change")
        changes = body.model_dump(exclude_unset=True, exclude={"version"})
        async with self.db.transaction() as session:
            current = rules.visible_or_404(principal, await repository.get(session, prescription_id))
            # A stale version fails before the rules: the client's idea of the status is stale too.
            if current.version != body.version:
                raise VersionConflict(_stale(body.version), current_version=current.version)
            before = Status(current.status)
            rules.check_change(before, changes)
            values = {key: value.value if isinstance(value, Status) else value for key, value in changes.items()}
            updated = await repository.compare_and_set(session, prescription_id, body.version, values, self.clock())
            if updated is None:  # another writer committed between our read and our UPDATE
                raise VersionConflict(_stale(body.version))
            await audit.record(
                session, principal.user_id, "prescription.updated", "prescription", prescription_id,
                fields=sorted(changes), status_from=before.value, status_to=updated.status, version=updated.version,
            )  # fmt: skip
        return updated


def _stale(version: int) -> str:
    return f"Version {version} is not the current one; read the prescription again and reapply the change."
