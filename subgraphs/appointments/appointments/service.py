"""Booking, reading and changing appointments; authorization per `rules.py`.

Booking integrity: the check for an overlapping appointment and the insert run
in one write transaction. On SQLite that transaction begins IMMEDIATE, so it
is serialized against every other writer and the check cannot go stale. On
PostgreSQL two concurrent bookings can both pass the check; the exclusion
constraints then refuse the second at insert, and it becomes the same 409.

A doctor out of service (deactivated, or no longer a doctor: doctors/roster.py)
cannot be booked nor have an appointment moved to a new time (409
DOCTOR_UNAVAILABLE); their appointments stay readable, and can still be cancelled.

Audit (kit/audit.py): every booking and change appends its event in its own
transaction; every read records one event per appointment it returns, and every
refusal (not found, forbidden, a rule) records one event with its outcome. The
patient an event is about is the appointment's patient, so a patient's
`GET /audit` shows who read or tried to touch their appointments.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.kit import audit
from subgraphs.kit.audit import AuditTrail
from subgraphs.kit.db import DEADLOCK_DETECTED, Database, sqlstate, utcnow
from subgraphs.kit.errors import AppError, NotFound
from subgraphs.kit.idempotency import IdempotentWrites, StoredResponse, fingerprint
from subgraphs.kit.pagination import PageParams
from subgraphs.kit.principal import Principal, require_admin
from subgraphs.kit.ratelimit import RateLimit

from ..doctors import hours
from ..doctors import repository as doctors
from ..doctors.errors import DoctorNotFound, DoctorUnavailable
from ..doctors.models import DoctorProfile
from ..doctors.roster import DoctorRoster, Listing, admits
from . import repository, rules
from .errors import InThePast, InvalidTimeRange, NotBooked, OutsideWorkingHours, SlotTaken
from .models import Appointment
from .schemas import AppointmentCreate, AppointmentFilter, AppointmentOut, AppointmentStats, AppointmentUpdate
from .status import Status

BOOKING_SCOPE = "POST /appointments"
RESOURCE = "appointment"


# An audit event about an appointment: `audited(principal, action, appointment)`, or with `resource_id=`
# and `patient_id=` when there is no record to hand.
audited = functools.partial(audit.about_record, RESOURCE)


class AppointmentService:
    def __init__(
        self,
        db: Database,
        idempotency: IdempotentWrites,
        audit_trail: AuditTrail,
        booking_limit: RateLimit | None = None,
        clock: Callable[[], datetime] = utcnow,
        roster: DoctorRoster | None = None,
    ) -> None:
        self.db = db
        self.idempotency = idempotency
        self.audit = audit_trail
        self.booking_limit = booking_limit
        self.clock = clock
        # Which doctors take appointments (doctors/roster.py); None: every profile does.
        self.roster = roster

    # -- booking -------------------------------------------------------------

    async def book(self, principal: Principal, body: AppointmentCreate) -> Appointment:
        try:
            await self._count_booking(principal, body)
            listing = await self._listing()
            async with self.db.transaction() as session:
                return await self._book(session, principal, body, listing)
        except AppError as exc:
            self.audit.record(self._refused_booking(principal, body, exc))
            raise

    async def book_once(self, principal: Principal, body: AppointmentCreate, key: str) -> StoredResponse:
        """`book` under an `Idempotency-Key`: a repeat returns the first response and books nothing."""

        async def write(session: AsyncSession) -> StoredResponse:
            appointment = await self._book(session, principal, body, listing)
            return StoredResponse(201, AppointmentOut.model_validate(appointment).model_dump(mode="json"))

        try:
            await self._count_booking(principal, body)
            listing = await self._listing()
            return await self.idempotency.run(
                scope=BOOKING_SCOPE,
                owner=str(principal.user_id),
                key=key,
                fingerprint=fingerprint(body.model_dump(mode="json", exclude_none=True)),
                write=write,
            )
        except AppError as exc:
            self.audit.record(self._refused_booking(principal, body, exc))
            raise

    async def _count_booking(self, principal: Principal, body: AppointmentCreate) -> None:
        """Bookings per patient per window (BOOKING_MAX_PER_PATIENT); every attempt counts."""
        patient_id = rules.patient_for(principal, body)
        if self.booking_limit is not None:
            await self.booking_limit.hit(str(patient_id), "Too many bookings for this patient; try again later.")

    @staticmethod
    def _refused_booking(principal: Principal, body: AppointmentCreate, exc: AppError) -> audit.AuditEvent:
        patient_id = body.patient_id or (principal.user_id if principal.is_patient else None)
        return audited(principal, "create", patient_id=patient_id, outcome=audit.outcome_for(exc))

    async def _listing(self) -> Listing | None:
        """Asked before a write transaction opens: never hold a write lock across a call to auth."""
        return await self.roster.listing() if self.roster is not None else None

    async def _book(
        self, session: AsyncSession, principal: Principal, body: AppointmentCreate, listing: Listing | None
    ) -> Appointment:
        patient_id = rules.patient_for(principal, body)
        if body.ends_at is not None and body.ends_at <= body.starts_at:
            raise InvalidTimeRange("ends_at must be after starts_at.")
        self._not_past(body.starts_at)
        doctor = await doctors.get(session, body.doctor_id)
        if doctor is None:
            raise DoctorNotFound("No doctor with this id.")
        _in_service(listing, doctor)
        ends_at = body.ends_at or body.starts_at + timedelta(minutes=doctor.appointment_minutes)
        await self._slot_free(session, doctor, patient_id, body.starts_at, ends_at)
        appointment = repository.add(
            session,
            Appointment(
                patient_id=patient_id,
                doctor_id=doctor.id,
                starts_at=body.starts_at,
                ends_at=ends_at,
                status=Status.BOOKED.value,
                reason=body.reason,
            ),
        )
        await self._flush(session)
        await self.audit.append(session, audited(principal, "create", appointment))
        return appointment

    def _not_past(self, starts_at: datetime) -> None:
        if starts_at <= self.clock():
            raise InThePast("An appointment must start in the future.")

    async def _slot_free(
        self,
        session: AsyncSession,
        doctor: DoctorProfile,
        patient_id: uuid.UUID,
        starts_at: datetime,
        ends_at: datetime,
        exclude_id: uuid.UUID | None = None,
    ) -> None:
        if not hours.admits(doctor.working_hours, doctor.timezone, starts_at, ends_at):
            raise OutsideWorkingHours(f"The doctor works {_describe(doctor)}; the appointment must fit in one window.")
        party = await repository.conflict(
            session,
            doctor_id=doctor.id,
            patient_id=patient_id,
            starts_at=starts_at,
            ends_at=ends_at,
            exclude_id=exclude_id,
        )
        if party is not None:
            raise SlotTaken(f"The {party} already has an appointment at that time.", conflict=party)

    @staticmethod
    async def _flush(session: AsyncSession) -> None:
        try:
            await session.flush()
        except IntegrityError as exc:
            party = repository.overlap_of(exc)
            if party is None:
                raise
            raise SlotTaken(f"The {party} already has an appointment at that time.", conflict=party) from exc
        except DBAPIError as exc:
            # Two overlapping bookings inserted at the same moment can each wait for the other's
            # row in the two exclusion constraints; PostgreSQL then rolls one back. That one lost
            # the slot to the other, as if the constraint had refused it.
            if sqlstate(exc) != DEADLOCK_DETECTED:
                raise
            raise SlotTaken("A booking made at the same moment took that time.") from exc

    # -- reading -------------------------------------------------------------

    async def stats(self, principal: Principal) -> AppointmentStats:
        """Aggregates for admins: counts only, no names, no clinical text."""
        try:
            require_admin(principal)
        except AppError as exc:
            self.audit.record(audited(principal, "stats", outcome=audit.outcome_for(exc)))
            raise
        self.audit.record(audited(principal, "stats"))
        async with self.db.session() as session:
            counts = await repository.counts_by_status(session)
            upcoming = await repository.count_upcoming(session, self.clock())
        by_status = {status.value: counts.get(status.value, 0) for status in Status}
        return AppointmentStats(total=sum(by_status.values()), by_status=by_status, upcoming=upcoming)

    async def get(self, principal: Principal, appointment_id: uuid.UUID) -> Appointment:
        found = await self.get_many(principal, [appointment_id])
        if appointment_id not in found:
            raise NotFound("No such appointment.")
        return found[appointment_id]

    async def get_many(self, principal: Principal, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Appointment]:
        """Those of `ids` the caller may see; the others are simply absent. One audit event per id asked."""
        ids = list(dict.fromkeys(ids))
        async with self.db.session() as session:
            found = await repository.get_many(session, ids)
        visible = {key: value for key, value in found.items() if rules.may_see(principal, value)}
        self.audit.record(*audit.reads_of_ids(RESOURCE, principal, ids, found, visible))
        return visible

    async def search(
        self, principal: Principal, wanted: AppointmentFilter, page: PageParams, *, count: bool = True
    ) -> tuple[list[Appointment], int | None]:
        if wanted.starts_from and wanted.starts_before and wanted.starts_from >= wanted.starts_before:
            raise InvalidTimeRange("`from` must be before `to`.")
        async with self.db.session() as session:
            scope = rules.scope_of(principal)
            items, total = await repository.page(session, scope, wanted, page.limit, page.offset, count=count)
        self._listed(principal, items)
        return items, total

    def _listed(self, principal: Principal, appointments: Iterable[Appointment]) -> None:
        self.audit.record(*(audited(principal, "list", appointment) for appointment in appointments))

    async def pages_for_users(
        self, principal: Principal, user_ids: Iterable[uuid.UUID], status: Status | None, page: PageParams
    ) -> dict[uuid.UUID, list[Appointment]]:
        """Per user, the appointments where they are patient or doctor that the caller may see."""
        async with self.db.session() as session:
            pages = await repository.pages_by_owner(
                session,
                user_ids,
                as_doctor=True,
                as_patient=True,
                scope=rules.scope_of(principal),
                status=status,
                limit=page.limit,
                offset=page.offset,
            )
        self._listed(principal, _distinct(pages))
        return pages

    async def pages_for_doctors(
        self, principal: Principal, doctor_ids: Iterable[uuid.UUID], status: Status | None, page: PageParams
    ) -> dict[uuid.UUID, list[Appointment]]:
        async with self.db.session() as session:
            pages = await repository.pages_by_owner(
                session,
                doctor_ids,
                as_doctor=True,
                as_patient=False,
                scope=rules.scope_of(principal),
                status=status,
                limit=page.limit,
                offset=page.offset,
            )
        self._listed(principal, _distinct(pages))
        return pages

    async def patients_in_care(self, doctor_id: uuid.UUID, patient_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        """Patients with any appointment ever booked with `doctor_id`, whatever its status.

        Called by the auth service only (the route checks the router secret): a
        doctor may read the profile of anyone who ever booked with them, a
        cancelled booking included, so they can see who cancelled.
        """
        async with self.db.session() as session:
            return await repository.patients_seen_by(session, doctor_id, patient_ids)

    # -- changing ------------------------------------------------------------

    async def update(
        self, principal: Principal, appointment_id: uuid.UUID, body: AppointmentUpdate, *, action: str = "update"
    ) -> Appointment:
        changes = body.model_dump(exclude_unset=True)
        patient_id = None
        try:
            listing = await self._listing() if "starts_at" in changes or "ends_at" in changes else None
            async with self.db.transaction() as session:
                found = await repository.get(session, appointment_id)
                patient_id = found.patient_id if found is not None else None
                appointment = await self._change(session, principal, found, changes, action, listing)
        except AppError as exc:
            refused = audited(
                principal, action, resource_id=appointment_id, patient_id=patient_id, outcome=audit.outcome_for(exc)
            )
            self.audit.record(refused)
            raise
        return appointment

    async def _change(
        self,
        session: AsyncSession,
        principal: Principal,
        found: Appointment | None,
        changes: dict,
        action: str,
        listing: Listing | None,
    ) -> Appointment:
        appointment = rules.visible_or_404(principal, found)
        current = Status(appointment.status)
        rules.check_change(principal, current, changes)
        if "starts_at" in changes or "ends_at" in changes:
            await self._reschedule(session, appointment, current, changes, listing)
        if "status" in changes:
            appointment.status = changes["status"].value
        for field in ("reason", "notes"):
            if field in changes:
                setattr(appointment, field, changes[field])
        await self._flush(session)
        await self.audit.append(session, audited(principal, action, appointment))
        return appointment

    async def cancel(self, principal: Principal, appointment_id: uuid.UUID) -> Appointment:
        """Cancelling keeps the record; cancelling a cancelled appointment changes nothing."""
        return await self.update(principal, appointment_id, AppointmentUpdate(status=Status.CANCELLED), action="cancel")

    async def _reschedule(
        self, session: AsyncSession, appointment: Appointment, current: Status, changes: dict, listing: Listing | None
    ) -> None:
        if current is not Status.BOOKED:
            raise NotBooked(f"This appointment is {current}; only a booked one can move.")
        starts_at = changes.get("starts_at", appointment.starts_at)
        if "ends_at" in changes:
            ends_at = changes["ends_at"]
        else:  # a new start keeps the appointment's length
            ends_at = starts_at + (appointment.ends_at - appointment.starts_at)
        if ends_at <= starts_at:
            raise InvalidTimeRange("ends_at must be after starts_at.")
        self._not_past(starts_at)
        doctor = await doctors.get(session, appointment.doctor_id)
        assert doctor is not None  # an appointment's doctor exists while the foreign key holds
        _in_service(listing, doctor)
        await self._slot_free(session, doctor, appointment.patient_id, starts_at, ends_at, appointment.id)
        appointment.starts_at, appointment.ends_at = starts_at, ends_at


def _in_service(listing: Listing | None, doctor: DoctorProfile) -> None:
    """A deactivated or demoted doctor takes no new time: no booking, no move to another slot."""
    if not admits(listing, doctor.id, doctor.created_at):
        raise DoctorUnavailable("This doctor is not taking appointments.")


def _distinct(pages: dict[uuid.UUID, list[Appointment]]) -> list[Appointment]:
    """Each appointment once, however many of the asked-for owners' pages it is on."""
    return list({appointment.id: appointment for items in pages.values() for appointment in items}.values())


def _describe(doctor: DoctorProfile) -> str:
    if not doctor.working_hours:
        return "no hours yet"
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    spans = sorted(doctor.working_hours, key=lambda w: (w["weekday"], w["start"]))
    listed = ", ".join(f"{days[w['weekday']]} {w['start']}-{w['end']}" for w in spans)
    return f"{listed} ({doctor.timezone})"
