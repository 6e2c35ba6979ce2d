"""Issuing, reading and changing prescriptions; every rule and transaction lives here.

Issuing asks the appointment service first, outside any transaction: a slow
or failing network call must hold no database lock, and when it fails
(`DependencyUnavailable`) nothing has been written. The checks on its answer
and the INSERT then run in one transaction.

Audit (kit/audit.py): issuing and changing append their event in their own
transaction; every read records one event per prescription it returns; every
refusal records one event with its outcome (an admin's read is `denied`). The
patient an event is about is the prescription's patient. No medication, dosage
or instructions are ever recorded.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.kit import audit
from subgraphs.kit.audit import AuditTrail
from subgraphs.kit.db import Database, utcnow
from subgraphs.kit.errors import AppError, NotFound
from subgraphs.kit.idempotency import StoredResponse, fingerprint
from subgraphs.kit.pagination import PageParams
from subgraphs.kit.principal import Principal, require_admin

from ..idempotency.replays import ReplayableWrites
from . import repository, rules
from .errors import VersionConflict
from .models import Prescription
from .remote import AppointmentLookup, AppointmentSnapshot
from .schemas import PrescriptionCreate, PrescriptionFilter, PrescriptionOut, PrescriptionUpdate
from .status import Status

ISSUE_SCOPE = "POST /prescriptions"
RESOURCE = "prescription"


# An audit event about a prescription: `audited(principal, action, prescription)`, or with `resource_id=`
# and `patient_id=` when there is no record to hand.
audited = functools.partial(audit.about_record, RESOURCE)


class PrescriptionService:
    def __init__(
        self,
        db: Database,
        appointments: AppointmentLookup,
        idempotency: ReplayableWrites,
        audit_trail: AuditTrail,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.appointments = appointments
        self.idempotency = idempotency
        self.audit = audit_trail
        self.clock = clock

    # -- issuing -------------------------------------------------------------

    async def issue(self, principal: Principal, body: PrescriptionCreate, *, authorization: str | None) -> Prescription:
        """`authorization` is the caller's own header, forwarded so the appointment service authorizes them too."""
        appointment = None
        try:
            rules.require_doctor(principal, "issue")
            appointment = await self.appointments.find(body.appointment_id, authorization=authorization)
            async with self.db.transaction() as session:
                return await self._issue(session, principal, body, appointment)
        except AppError as exc:
            self.audit.record(_refused_issue(principal, appointment, exc))
            raise

    async def issue_once(
        self, principal: Principal, body: PrescriptionCreate, key: str, *, authorization: str | None
    ) -> StoredResponse:
        """`issue` under an `Idempotency-Key`: a repeat returns the first response and issues nothing.

        Refusals that depend on the appointment (404, 409) are stored and replayed
        like a success; an unavailable appointment service is not: nothing was
        decided, so the same key may be tried again.
        """
        appointment = None
        try:
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
        except AppError as exc:
            self.audit.record(_refused_issue(principal, appointment, exc))
            raise

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
        await self.audit.append(session, audited(principal, "create", prescription))
        return prescription

    # -- reading -------------------------------------------------------------

    async def get(self, principal: Principal, prescription_id: uuid.UUID) -> Prescription:
        found = await self.get_many(principal, [prescription_id])
        if prescription_id not in found:
            raise NotFound("No such prescription.")
        return found[prescription_id]

    async def get_many(self, principal: Principal, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Prescription]:
        """Those of `ids` the caller may see; the others are simply absent. One audit event per id asked.

        Admins are refused (FORBIDDEN) before the database is asked."""
        ids = list(dict.fromkeys(ids))
        scope = self._scope(principal, "read", ids)
        async with self.db.session() as session:
            found = await repository.get_many(session, ids)
        visible = {key: value for key, value in found.items() if rules.may_see(scope, value)}
        self.audit.record(*audit.reads_of_ids(RESOURCE, principal, ids, found, visible))
        return visible

    async def search(
        self, principal: Principal, wanted: PrescriptionFilter, page: PageParams, *, count: bool = True
    ) -> tuple[list[Prescription], int | None]:
        scope = self._scope(principal, "list")
        async with self.db.session() as session:
            items, total = await repository.page(session, scope, wanted, page.limit, page.offset, count=count)
        self.audit.record(*(audited(principal, "list", prescription) for prescription in items))
        return items, total

    def _scope(self, principal: Principal, action: str, ids: Iterable[uuid.UUID | None] = (None,)):
        """The caller's scope; a refusal (admins) is recorded, once per id asked (once, without an id,
        when none is), before it is raised."""
        try:
            return rules.scope_of(principal)
        except AppError as exc:
            outcome = audit.outcome_for(exc)
            self.audit.record(*(audited(principal, action, resource_id=key, outcome=outcome) for key in ids))
            raise

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
        scope = self._scope(principal, "list")
        async with self.db.session() as session:
            pages = await repository.pages_by_owner(
                session, owners, columns, scope=scope, status=status, limit=page.limit, offset=page.offset
            )
        listed = {prescription.id: prescription for items in pages.values() for prescription in items}
        self.audit.record(*(audited(principal, "list", prescription) for prescription in listed.values()))
        return pages

    async def counts_by_status(self, principal: Principal) -> dict[str, int]:
        """How many prescriptions are in each status (every status listed): the only view admins have."""
        try:
            require_admin(principal)
        except AppError as exc:
            self.audit.record(audited(principal, "stats", outcome=audit.outcome_for(exc)))
            raise
        self.audit.record(audited(principal, "stats"))
        async with self.db.session() as session:
            counts = await repository.counts_by_status(session)
        return {status.value: counts.get(status.value, 0) for status in Status}

    # -- changing ------------------------------------------------------------

    async def update(self, principal: Principal, prescription_id: uuid.UUID, body: PrescriptionUpdate) -> Prescription:
        patient_id = None
        try:
            rules.require_doctor(principal, "change")
            async with self.db.transaction() as session:
                found = await repository.get(session, prescription_id)
                patient_id = found.patient_id if found is not None else None
                updated = await self._update(session, principal, found, body)
        except AppError as exc:
            outcome = audit.outcome_for(exc)
            self.audit.record(
                audited(principal, "update", resource_id=prescription_id, patient_id=patient_id, outcome=outcome)
            )
            raise
        return updated

    async def _update(
        self, session: AsyncSession, principal: Principal, found: Prescription | None, body: PrescriptionUpdate
    ) -> Prescription:
        changes = body.model_dump(exclude_unset=True, exclude={"version"})
        current = rules.visible_or_404(principal, found)
        # A stale version fails before the rules: the client's idea of the status is stale too.
        if current.version != body.version:
            raise VersionConflict(_stale(body.version), current_version=current.version)
        before = Status(current.status)
        rules.check_change(before, changes)
        values = {key: value.value if isinstance(value, Status) else value for key, value in changes.items()}
        updated = await repository.compare_and_set(session, current.id, body.version, values, self.clock())
        if updated is None:  # another writer committed between our read and our UPDATE
            raise VersionConflict(_stale(body.version))
        await self.audit.append(session, audited(principal, "update", updated))
        return updated


def _refused_issue(principal: Principal, appointment: AppointmentSnapshot | None, exc: AppError) -> audit.AuditEvent:
    """A refused issue: about the appointment's patient when the appointment service answered."""
    patient_id = appointment.patient_id if appointment is not None else None
    return audited(principal, "create", patient_id=patient_id, outcome=audit.outcome_for(exc))


def _stale(version: int) -> str:
    return f"Version {version} is not the current one; read the prescription again and reapply the change."
