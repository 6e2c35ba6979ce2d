"""How the appointment service's answers are read: what is "not found", what is "unavailable"."""

from __future__ import annotations

import uuid

import httpx
import pytest

from subgraphs.kit.errors import DependencyUnavailable, Unauthenticated
from subgraphs.kit.service_client import ServiceClient
from subgraphs.prescriptions.appointments.client import AppointmentsOverHttp

APPOINTMENT_ID = uuid.uuid4()


def lookup(status: int, body) -> tuple[AppointmentsOverHttp, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if isinstance(body, bytes):
            return httpx.Response(status, content=body)
        return httpx.Response(status, json=body)

    client = ServiceClient("appointment", "http://appointments.test", transport=httpx.MockTransport(answer))
    return AppointmentsOverHttp(client), seen


def appointment(**overrides) -> dict:
    return {
        "id": str(APPOINTMENT_ID),
        "patient_id": str(uuid.uuid4()),
        "doctor_id": str(uuid.uuid4()),
        "status": "arrived",
        "starts_at": "2030-01-01T10:00:00Z",
        **overrides,
    }


async def test_an_appointment_is_read_and_the_token_forwarded():
    appointments, seen = lookup(200, appointment())
    found = await appointments.find(APPOINTMENT_ID, authorization="Bearer t0ken")
    assert (found.id, found.status) == (APPOINTMENT_ID, "arrived")
    assert seen[0].url.path == f"/appointments/{APPOINTMENT_ID}"
    assert seen[0].headers["authorization"] == "Bearer t0ken"


@pytest.mark.parametrize("status", [403, 404])
async def test_what_the_caller_may_not_see_does_not_exist(status):
    appointments, _ = lookup(status, {"code": "NOT_FOUND"})
    assert await appointments.find(APPOINTMENT_ID, authorization="Bearer t") is None


async def test_a_token_refused_there_is_refused_here():
    appointments, _ = lookup(401, {"code": "UNAUTHENTICATED"})
    with pytest.raises(Unauthenticated):
        await appointments.find(APPOINTMENT_ID, authorization="Bearer t")


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (418, {"code": "TEAPOT"}),
        (200, b"not json"),
        (200, {"id": str(APPOINTMENT_ID)}),
        (200, appointment(id=str(uuid.uuid4()))),
    ],
    ids=["unexpected-status", "not-json", "missing-fields", "another-appointment"],
)
async def test_an_answer_that_cannot_be_used_is_unavailable(status, body):
    appointments, _ = lookup(status, body)
    with pytest.raises(DependencyUnavailable):
        await appointments.find(APPOINTMENT_ID, authorization="Bearer t")
