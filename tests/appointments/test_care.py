"""`/internal/care-relationships`: which patients a doctor has (or had) appointments with."""

from __future__ import annotations

import pytest

from ..conftest import ROUTER_HEADERS
from .conftest import AppointmentsApi, at, monday


async def ask(api: AppointmentsApi, doctor_id: str, patient_ids: list[str], headers=ROUTER_HEADERS):
    return await api.client.post(
        "/internal/care-relationships", json={"doctor_id": doctor_id, "patient_ids": patient_ids}, headers=headers
    )


async def test_patients_with_any_appointment_ever_are_in_care(api: AppointmentsApi):
    doctor, profile = await api.doctor()
    booked, cancelled, stranger = api.caller(), api.caller(), api.caller()
    await api.booked(booked, profile["id"], at(monday(), "10:00"))
    gone = await api.booked(cancelled, profile["id"], at(monday(), "11:00"))
    await api.client.delete(f"/appointments/{gone['id']}", headers=cancelled.headers)

    response = await ask(api, doctor.id, [booked.id, cancelled.id, stranger.id])
    assert response.status_code == 200, response.text
    assert set(response.json()["patient_ids"]) == {booked.id, cancelled.id}
    other_doctor, _ = await api.doctor()
    assert (await ask(api, other_doctor.id, [booked.id])).json() == {"patient_ids": []}


@pytest.mark.parametrize("headers", [{}, {"x-router-secret": "guess"}])
async def test_only_callers_with_the_shared_secret_may_ask(api: AppointmentsApi, headers):
    doctor = api.caller("doctor")
    response = await ask(api, doctor.id, [api.caller().id], headers={**headers, **doctor.headers})
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"


async def test_too_many_patients_in_one_question_is_422(api: AppointmentsApi):
    response = await ask(api, api.caller("doctor").id, [api.caller().id for _ in range(1001)])
    assert response.status_code == 422
