"""REST routes of the doctors domain: thin adapters over `DoctorService`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from subgraphs.kit.inputs import TEXT_PATTERN
from subgraphs.kit.openapi import UNREADABLE_BODY, problems
from subgraphs.kit.pagination import Page, PageQuery
from subgraphs.kit.security import CurrentPrincipal

from ..deps import Doctors
from .schemas import DoctorCreate, DoctorOut, DoctorUpdate

router = APIRouter(tags=["doctors"], responses=problems(401, 422))


@router.post(
    "/doctors/profile",
    status_code=201,
    response_model=DoctorOut,
    summary="Create the calling doctor's profile (once)",
    responses=problems(UNREADABLE_BODY, {403: "FORBIDDEN: not a doctor", 409: "PROFILE_EXISTS"}),
)
async def create_profile(body: DoctorCreate, principal: CurrentPrincipal, doctors: Doctors) -> DoctorOut:
    return DoctorOut.model_validate(await doctors.create(principal, body))


@router.get(
    "/doctors/profile",
    response_model=DoctorOut,
    summary="The calling doctor's profile",
    responses=problems({403: "FORBIDDEN: not a doctor", 404: "NOT_FOUND: no profile yet"}),
)
async def read_profile(principal: CurrentPrincipal, doctors: Doctors) -> DoctorOut:
    return DoctorOut.model_validate(await doctors.own(principal))


@router.put(
    "/doctors/profile",
    response_model=DoctorOut,
    summary="Change the calling doctor's profile (fields given only)",
    responses=problems(UNREADABLE_BODY, {403: "FORBIDDEN: not a doctor", 404: "NOT_FOUND: no profile yet"}),
)
async def update_profile(body: DoctorUpdate, principal: CurrentPrincipal, doctors: Doctors) -> DoctorOut:
    return DoctorOut.model_validate(await doctors.update(principal, body))


@router.get("/doctors", response_model=Page[DoctorOut], summary="The doctor directory")
async def directory(
    principal: CurrentPrincipal,
    doctors: Doctors,
    page: PageQuery,
    specialty: Annotated[
        str | None, Query(max_length=100, pattern=TEXT_PATTERN, description="Case-insensitive")
    ] = None,
) -> Page[DoctorOut]:
    items, total = await doctors.directory(principal, specialty, page)
    return Page(items=[DoctorOut.model_validate(d) for d in items], total=total, limit=page.limit, offset=page.offset)


# Declared after /doctors/profile, so "profile" is never read as an id.
@router.get(
    "/doctors/{doctor_id}", response_model=DoctorOut, summary="One doctor of the directory", responses=problems(404)
)
async def read_doctor(doctor_id: uuid.UUID, principal: CurrentPrincipal, doctors: Doctors) -> DoctorOut:
    return DoctorOut.model_validate(await doctors.get(principal, doctor_id))
