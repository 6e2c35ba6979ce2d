"""Malformed and oversized input: a 4xx with a stable code, and nothing written."""

from __future__ import annotations

import pytest

from .conftest import AppointmentsApi, at, iso, monday


@pytest.fixture
async def booking(api: AppointmentsApi) -> dict:
    _doctor, profile = await api.doctor()
    return {"doctor_id": profile["id"], "starts_at": iso(at(monday(), "10:00"))}


@pytest.mark.parametrize(
    ("change", "bad"),
    [
        ({"doctor_id": "not-a-uuid"}, "doctor_id"),
        ({"starts_at": "tomorrow at ten"}, "starts_at"),
        ({"starts_at": "2030-01-07T10:00:00"}, "starts_at"),  # no offset: ambiguous, refused
        ({"ends_at": "2030-01-07T10:30:00"}, "ends_at"),
        ({"reason": "x" * 501}, "reason"),
        ({"status": "fulfilled"}, "status"),  # unknown field: a booking starts booked
        ({"notes": "sneaky"}, "notes"),
        ({"starts_at": None}, "starts_at"),
        ({"doctor_id": 12}, "doctor_id"),
    ],
)
async def test_malformed_bookings_are_422(api: AppointmentsApi, booking, change, bad):
    response = await api.client.post("/appointments", json={**booking, **change}, headers=api.caller().headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["code"] == "VALIDATION_ERROR"
    assert any(bad in error["loc"] for error in problem["errors"]), problem["errors"]
    assert await api.count() == 0


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b'{"doctor_id": ', "application/json"), (b"[1, 2, 3]", "application/json"), (b"doctor_id=x", "text/plain")],
)
async def test_unparseable_bodies_are_422(api: AppointmentsApi, content, content_type):
    response = await api.client.post(
        "/appointments", content=content, headers={**api.caller().headers, "content-type": content_type}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert await api.count() == 0


async def test_oversized_bodies_are_413_before_anything_reads_them(api: AppointmentsApi, booking):
    huge = {**booking, "reason": "x" * 2_000_000}
    response = await api.client.post("/appointments", json=huge, headers=api.caller().headers)
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"
    await api.app.state.audit.flush()
    trail = api.app.state.audit.table
    assert await api.count() == 0 and await api.count(trail) == 1  # only the doctor's profile


@pytest.mark.parametrize("path", ["/appointments/not-a-uuid", "/doctors/not-a-uuid"])
async def test_malformed_ids_in_paths_are_422(api: AppointmentsApi, path):
    response = await api.client.get(path, headers=api.caller().headers)
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"


async def test_unknown_and_oversized_graphql_input_is_refused(api: AppointmentsApi, booking):
    query = "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }"
    unknown = await api.gql(
        query, {"i": {"doctorId": booking["doctor_id"], "startsAt": booking["starts_at"], "x": "hush"}}, api.caller()
    )
    assert unknown["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}
    assert "'x'" in unknown["errors"][0]["message"] and "hush" not in str(unknown)
    garbled = await api.gql(query, {"i": {"doctorId": booking["doctor_id"], "startsAt": "hush-hush"}}, api.caller())
    assert garbled["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}
    assert "hush" not in str(garbled)
    long = await api.gql(
        query,
        {"i": {"doctorId": booking["doctor_id"], "startsAt": booking["starts_at"], "reason": "x" * 501}},
        api.caller(),
    )
    assert long["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    assert "x" * 501 not in str(long)  # the rejected input is not echoed
    assert await api.count() == 0
