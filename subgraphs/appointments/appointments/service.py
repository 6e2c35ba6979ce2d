"""Booking, reading and changing appointments; authorization per `rules.py`.

Booking integrity: the check for an overlapping appointment and the insert run
in one write transaction. On SQLite that transaction begins IMMEDIATE, so it
is serialized against every other writer and the check cannot go stale. On
PostgreSQL two concurrent bookings can both pass the check; the exclusion
constraints then refuse the second at insert, and it becomes the same 409.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from subgraphs.kit.db import Database, utcnow
from subgraphs.kit.idempotency import IdempotentWrites, StoredResponse, fingerprint
from subgraphs.kit.pagination import PageParams
from subgraphs.kit.principal import Principal, require_admin

from ..audit import repository as audit
from ..doctors import hours
from ..doctors import repository as doctors
from ..doctors.errors import DoctorNotFound
from ..doctors.models import DoctorProfile
from . import repository, rules
from .errors import InThePast, InvalidTimeRange, NotBooked, OutsideWorkingHours, SlotTaken
from .models import Appointment
from .schemas import AppointmentCreate, AppointmentFilter, AppointmentOut, AppointmentStats, AppointmentUpdate
from .status import Status

BOOKING_SCOPE = "POST /appointments"


class AppointmentService:
    def __init__(self, db: Database, idempotency: IdempotentWrites, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.idempotency = idempotency
        self.clock = clock

    # -- booking -------------------------------------------------------------

    async def book(self, principal: Principal, body: AppointmentCreate) -> Appointment:
        async with self.db.transaction() as session:
            return await self._book(session, principal, body)

    async def book_once(self, principal: Principal, body: AppointmentCreate, key: str) -> StoredResponse:
        """`book` under an `Idempotency-Key`: a repeat returns the first response and books nothing."""

        async def write(session: AsyncSession) -> StoredResponse:
            appointment = await self._book(session, principal, body)
            return StoredResponse(201, AppointmentOut.model_validate(appointment).model_dump(mode="json"))

        return await self.idempotency.run(
            scope=BOOKING_SCOPE,
            owner=str(principal.user_id),
            key=key,
            fingerprint=fingerprint(body.model_dump(mode="json", exclude_none=True)),
            write=write,
        )

    async def _book(self, session: AsyncSession, principal: Principal, body: AppointmentCreate) -> Appointment:
        patient_id = rules.patient_for(principal, body)
        if body.ends_at is not None and body.ends_at <= body.starts_at:
            raise InvalidTimeRange("ends_at must be after starts_at.")
        self._not_past(body.starts_at)
        doctor = await doctors.get(session, body.doctor_id)
        if doctor is None:
            raise DoctorNotFound("No doctor with this id.")
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
        await audit.record(
            session,
            principal.user_id,
            "appointment.booked",
            "appointment",
            appointment.id,
            doctor_id=str(doctor.id),
            patient_id=str(patient_id),
        )
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

    # -- reading -------------------------------------------------------------

    async def stats(self, principal: Principal) -> AppointmentStats:
        """Aggregates for admins: counts only, no names, no clinical text."""
        require_admin(principal)
        async with self.db.session() as session:
            counts = await repository.counts_by_status(session)
            upcoming = await repository.count_upcoming(session, self.clock())
        by_status = {status.value: counts.get(status.value, 0) for status in Status}
        return AppointmentStats(total=sum(by_status.values()), by_status=by_status, upcoming=upcoming)

    async def get(self, principal: Principal, appointment_id: uuid.UUID) -> Appointment:
        async with self.db.session() as session:
            appointment = await repository.get(session, appointment_id)
        return rules.visible_or_404(principal, appointment)

    async def get_many(self, principal: Principal, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Appointment]:
        """Those of `ids` the caller may see; the others are simply absent."""
        async with self.db.session() as session:
            found = await repository.get_many(session, ids)
        return {key: value for key, value in found.items() if rules.may_see(principal, value)}

    async def search(
        self, principal: Principal, wanted: AppointmentFilter, page: PageParams
    ) -> tuple[list[Appointment], int]:
        if wanted.starts_from and wanted.starts_before and wanted.starts_from >= wanted.starts_before:
            raise InvalidTimeRange("`from` must be before `to`.")
        async with self.db.session() as session:
            return await repository.page(session, rules.scope_of(principal), wanted, page.limit, page.offset)

    async def pages_for_users(
        self, principal: Principal, user_ids: Iterable[uuid.UUID], status: Status | None, page: PageParams
    ) -> dict[uuid.UUID, list[Appointment]]:
        """Per user, the appointments where they are patient or doctor that the caller may see."""
        async with self.db.session() as session:
            return await repository.pages_by_owner(
                session,
                user_ids,
                as_doctor=True,
                as_patient=True,
                scope=rules.scope_of(principal),
                status=status,
                limit=page.limit,
                offset=page.offset,
            )

    async def pages_for_doctors(
        self, principal: Principal, doctor_ids: Iterable[uuid.UUID], status: Status | None, page: PageParams
    ) -> dict[uuid.UUID, list[Appointment]]:
        async with self.db.session() as session:
            return await repository.pages_by_owner(
                session,
                doctor_ids,
                as_doctor=True,
                as_patient=False,
                scope=rules.scope_of(principal),
                status=status,
                limit=page.limit,
                offset=page.offset,
            )

    async def patients_in_care(self, doctor_id: uuid.UUID, patient_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        """Patients with any appointment ever booked with `doctor_id`, whatever its status.

        Called by the auth service only (the route checks the router secret): a
        doctor may read the profile of anyone who ever booked with them, a
        cancelled booking included, so they can see who cancelled.
        """
        async with self.db.session() as session:
            return await repository.patients_seen_by(session, doctor_id, patient_ids)

    # -- changing ------------------------------------------------------------

    async def update(self, principal: Principal, appointment_id: uuid.UUID, body: AppointmentUpdate) -> Appointment:
        changes = body.model_dump(exclude_unset=True)
        async with self.db.transaction() as session:
            appointment = rules.visible_or_404(principal, await repository.get(session, appointment_id))
            current = Status(appointment.status)
            rules.check_change(principal, current, changes)
            if "starts_at" in changes or "ends_at" in changes:
                await self._reschedule(session, appointment, current, changes)
            if "status" in changes:
                appointment.status = changes["status"].value
            for field in ("reason", "notes"):
                if field in changes:
                    setattr(appointment, field, changes[field])
            await self._flush(session)
            detail = {"fields": sorted(changes), "from": current.value, "to": appointment.status}
            await audit.record(
                session, principal.user_id, "appointment.updated", "appointment", appointment.id, **detail
            )
        return appointment

    async def cancel(self, principal: Principal, appointment_id: uuid.UUID) -> Appointment:
        """Cancelling keeps the record; cancelling a cancelled appointment changes nothing."""
        return await self.update(principal, appointment_id, AppointmentUpdate(status=Status.CANCELLED))

    async def _reschedule(
        self, session: AsyncSession, appointment: Appointment, current: Status, changes: dict
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
        await self._slot_free(session, doctor, appointment.patient_id, starts_at, ends_at, appointment.id)
        appointment.starts_at, appointment.ends_at = starts_at, ends_at


def _describe(doctor: DoctorProfile) -> str:
    if not doctor.working_hours:
        return "no hours yet"
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    spans = sorted(doctor.working_hours, key=lambda w: (w["weekday"], w["start"]))
    listed = ", ".join(f"{days[w['weekday']]} {w['start']}-{w['end']}" for w in spans)
    return f"{listed} ({doctor.timezone})"
