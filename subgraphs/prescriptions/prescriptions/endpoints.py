"""REST routes of the prescriptions domain: thin adapters over `PrescriptionService`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse

from subgraphs.kit.idempotency import KEY_PATTERN
from subgraphs.kit.openapi import UNREADABLE_BODY, problems
from subgraphs.kit.pagination import Page, PageQuery
from subgraphs.kit.problem import MEDIA_TYPE as PROBLEM_MEDIA_TYPE
from subgraphs.kit.security import CurrentPrincipal

from ..deps import Prescriptions
from .schemas import PrescriptionCreate, PrescriptionFilter, PrescriptionOut, PrescriptionStats, PrescriptionUpdate
from .status import Status

router = APIRouter(tags=["prescriptions"], responses=problems(401, 422))

IdempotencyKey = Annotated[
    str | None,
    Header(
        pattern=KEY_PATTERN,
        description="Repeat a POST safely: the same key and body return the first response.",
    ),
]


@router.post(
    "/prescriptions",
    status_code=201,
    response_model=PrescriptionOut,
    summary="Issue a prescription at an appointment (its doctor only)",
    responses=problems(
        {
            400: UNREADABLE_BODY[400],
            403: "FORBIDDEN: not a doctor",
            404: "APPOINTMENT_NOT_FOUND (also another doctor's appointment)",
            409: "APPOINTMENT_NOT_ELIGIBLE: the appointment is not arrived or fulfilled",
            422: "VALIDATION_ERROR, IDEMPOTENCY_KEY_REUSED",
            503: "DEPENDENCY_UNAVAILABLE: the appointment service cannot answer; nothing was written",
        }
    ),
)
async def issue(
    request: Request,
    body: PrescriptionCreate,
    principal: CurrentPrincipal,
    prescriptions: Prescriptions,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    authorization = request.headers.get("authorization")
    if idempotency_key is None:
        prescription = await prescriptions.issue(principal, body, authorization=authorization)
        return JSONResponse(PrescriptionOut.model_validate(prescription).model_dump(mode="json"), status_code=201)
    stored = await prescriptions.issue_once(principal, body, idempotency_key, authorization=authorization)
    return JSONResponse(
        stored.body,
        status_code=stored.status,
        media_type=PROBLEM_MEDIA_TYPE if stored.status >= 400 else None,
        headers={"Idempotent-Replayed": "true"} if stored.replayed else None,
    )


@router.get(
    "/prescriptions",
    response_model=Page[PrescriptionOut],
    summary="Prescriptions the caller may see, newest first (`?status=active`: a patient's medication list)",
    responses=problems({403: "FORBIDDEN: admins see prescriptions only as aggregates"}),
)
async def list_prescriptions(
    principal: CurrentPrincipal,
    prescriptions: Prescriptions,
    page: PageQuery,
    status: Status | None = None,
    appointment_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
) -> Page[PrescriptionOut]:
    wanted = PrescriptionFilter(status=status, appointment_id=appointment_id, patient_id=patient_id)
    items, total = await prescriptions.search(principal, wanted, page)
    assert total is not None  # counted: search counts unless asked not to
    return Page(
        items=[PrescriptionOut.model_validate(p) for p in items], total=total, limit=page.limit, offset=page.offset
    )


# Declared before /prescriptions/{prescription_id}, so "stats" is never read as an id.
@router.get(
    "/prescriptions/stats",
    response_model=PrescriptionStats,
    summary="How many prescriptions are in each status (admins only; for analytics)",
    responses=problems({403: "FORBIDDEN: not an admin"}),
)
async def prescription_stats(principal: CurrentPrincipal, prescriptions: Prescriptions) -> PrescriptionStats:
    by_status = await prescriptions.counts_by_status(principal)
    return PrescriptionStats(
        total=sum(by_status.values()), by_status={Status(status): count for status, count in by_status.items()}
    )


@router.get(
    "/prescriptions/{prescription_id}",
    response_model=PrescriptionOut,
    summary="One prescription",
    responses=problems({403: "FORBIDDEN: admins", 404: "NOT_FOUND"}),
)
async def read_prescription(
    prescription_id: uuid.UUID, principal: CurrentPrincipal, prescriptions: Prescriptions
) -> PrescriptionOut:
    return PrescriptionOut.model_validate(await prescriptions.get(principal, prescription_id))


@router.put(
    "/prescriptions/{prescription_id}",
    response_model=PrescriptionOut,
    summary="Change status or instructions (the issuing doctor only), naming the version read",
    responses=problems(
        {
            400: UNREADABLE_BODY[400],
            403: "FORBIDDEN: not a doctor",
            404: "NOT_FOUND (also another doctor's prescription)",
            409: "VERSION_CONFLICT, INVALID_STATUS_TRANSITION, PRESCRIPTION_CLOSED",
            422: "VALIDATION_ERROR: unknown or immutable fields (medication, dosage, frequency, ...)",
        }
    ),
)
async def update_prescription(
    prescription_id: uuid.UUID, body: PrescriptionUpdate, principal: CurrentPrincipal, prescriptions: Prescriptions
) -> PrescriptionOut:
    return PrescriptionOut.model_validate(await prescriptions.update(principal, prescription_id, body))
