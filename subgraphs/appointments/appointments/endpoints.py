"""REST routes of the appointments domain: thin adapters over `AppointmentService`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse

from subgraphs.kit.idempotency import KEY_PATTERN
from subgraphs.kit.instants import Instant
from subgraphs.kit.openapi import UNREADABLE_BODY, problems
from subgraphs.kit.pagination import Page, PageQuery
from subgraphs.kit.problem import MEDIA_TYPE as PROBLEM_MEDIA_TYPE
from subgraphs.kit.security import CurrentPrincipal

from ..deps import Appointments
from .schemas import AppointmentCreate, AppointmentFilter, AppointmentOut, AppointmentStats, AppointmentUpdate
from .status import Status

router = APIRouter(tags=["appointments"], responses=problems(401, 422))

IdempotencyKey = Annotated[
    str | None,
    Header(
        pattern=KEY_PATTERN,
        description="Repeat a POST safely: the same key and body return the first response.",
    ),
]


@router.post(
    "/appointments",
    status_code=201,
    response_model=AppointmentOut,
    summary="Book an appointment",
    responses=problems(
        {
            400: UNREADABLE_BODY[400],
            403: "FORBIDDEN: doctors do not book; only admins name the patient",
            404: "DOCTOR_NOT_FOUND",
            409: "SLOT_TAKEN (with `conflict`: doctor or patient), DOCTOR_UNAVAILABLE: the doctor is out of service",
            422: "OUTSIDE_WORKING_HOURS, IN_THE_PAST, INVALID_TIME_RANGE, IDEMPOTENCY_KEY_REUSED, VALIDATION_ERROR",
        },
        429,
    ),
)
async def book(
    body: AppointmentCreate,
    principal: CurrentPrincipal,
    appointments: Appointments,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    if idempotency_key is None:
        appointment = await appointments.book(principal, body)
        return JSONResponse(AppointmentOut.model_validate(appointment).model_dump(mode="json"), status_code=201)
    stored = await appointments.book_once(principal, body, idempotency_key)
    return JSONResponse(
        stored.body,
        status_code=stored.status,
        media_type=PROBLEM_MEDIA_TYPE if stored.status >= 400 else None,
        headers={"Idempotent-Replayed": "true"} if stored.replayed else None,
    )


@router.get("/appointments", response_model=Page[AppointmentOut], summary="Appointments the caller may see")
async def list_appointments(
    principal: CurrentPrincipal,
    appointments: Appointments,
    page: PageQuery,
    status: Status | None = None,
    starts_from: Annotated[Instant | None, Query(alias="from", description="starts_at >= from")] = None,
    starts_before: Annotated[Instant | None, Query(alias="to", description="starts_at < to")] = None,
    doctor_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
) -> Page[AppointmentOut]:
    wanted = AppointmentFilter(
        status=status,
        starts_from=starts_from,
        starts_before=starts_before,
        doctor_id=doctor_id,
        patient_id=patient_id,
    )
    items, total = await appointments.search(principal, wanted, page)
    assert total is not None  # counted: search counts unless asked not to
    return Page(
        items=[AppointmentOut.model_validate(a) for a in items], total=total, limit=page.limit, offset=page.offset
    )


# Declared before /appointments/{appointment_id}, so "stats" is never read as an id.
@router.get(
    "/appointments/stats",
    response_model=AppointmentStats,
    summary="Counts by status, and upcoming (admins)",
    responses=problems({403: "FORBIDDEN: not an admin"}),
)
async def appointment_stats(principal: CurrentPrincipal, appointments: Appointments) -> AppointmentStats:
    return await appointments.stats(principal)


@router.get(
    "/appointments/{appointment_id}", response_model=AppointmentOut, summary="One appointment", responses=problems(404)
)
async def read_appointment(
    appointment_id: uuid.UUID, principal: CurrentPrincipal, appointments: Appointments
) -> AppointmentOut:
    return AppointmentOut.model_validate(await appointments.get(principal, appointment_id))


@router.put(
    "/appointments/{appointment_id}",
    response_model=AppointmentOut,
    summary="Reschedule, change status, reason or notes",
    responses=problems(
        {
            400: UNREADABLE_BODY[400],
            403: "FORBIDDEN: a field or status the caller's role may not change",
            404: "NOT_FOUND",
            409: "INVALID_STATUS_TRANSITION, NOT_BOOKED, SLOT_TAKEN, DOCTOR_UNAVAILABLE (a new time only)",
            422: "IN_THE_PAST, INVALID_TIME_RANGE, OUTSIDE_WORKING_HOURS, VALIDATION_ERROR",
        }
    ),
)
async def update_appointment(
    appointment_id: uuid.UUID, body: AppointmentUpdate, principal: CurrentPrincipal, appointments: Appointments
) -> AppointmentOut:
    return AppointmentOut.model_validate(await appointments.update(principal, appointment_id, body))


@router.delete(
    "/appointments/{appointment_id}",
    status_code=204,
    summary="Cancel an appointment (the record is kept)",
    responses=problems({404: "NOT_FOUND", 409: "INVALID_STATUS_TRANSITION: it is fulfilled or a no-show"}),
)
async def cancel_appointment(
    appointment_id: uuid.UUID, principal: CurrentPrincipal, appointments: Appointments
) -> Response:
    await appointments.cancel(principal, appointment_id)
    return Response(status_code=204)
