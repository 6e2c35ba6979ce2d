"""Regression tests for what the fuzzers found (docs/security.md, "What the fuzzers found").

Each was a 500, a masked INTERNAL_SERVER_ERROR, or a request the OpenAPI document calls
invalid being accepted. The fuzzers find such things by chance; these make sure they stay fixed.
"""

from __future__ import annotations

import pytest

from ..system import System, in_process_system


@pytest.fixture
async def system(database_for, tmp_path):
    async with in_process_system(database_for, tmp_path) as system:
        yield system


def codes(result: dict) -> list[str]:
    return [error["extensions"]["code"] for error in result.get("errors", [])]


async def test_malformed_entity_representations_are_the_callers_mistake(system: System):
    patient = await system.user("patient")
    query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id } } }"
    representations = [
        "not an object",
        {"id": patient["id"]},  # no __typename
        {"__typename": "Nope", "id": patient["id"]},
        {"__typename": "User", "id": patient["id"], "email": "x@example.org"},  # not a key field
        {"__typename": "User", "id": 7},
        {"__typename": "User", "id": patient["id"]},  # the one good one still resolves
    ]
    result = await system.gql("auth", query, {"r": representations}, user=patient)
    assert codes(result) == ["BAD_USER_INPUT"] * 5
    assert [error["path"] for error in result["errors"]] == [["_entities", index] for index in range(5)]
    assert result["data"]["_entities"] == [None] * 5 + [{"id": patient["id"]}]


async def test_instants_that_overflow_utc_or_are_numbers_are_refused(system: System):
    doctor, patient = await system.doctor(), await system.user("patient")
    booking = {"doctor_id": doctor["id"], "starts_at": "0001-01-01T00:01:01.0+01:00"}
    response = await system.appointments.post("/appointments", json=booking, headers=patient["headers"])
    assert response.status_code == 422 and response.json()["code"] == "VALIDATION_ERROR"
    mutation = "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }"
    result = await system.gql(
        "appointments", mutation, {"i": {"doctorId": doctor["id"], "startsAt": "0001-01-01T00:00:00+01:00"}}, patient
    )
    assert codes(result) == ["VALIDATION_ERROR"]
    for params in ({"to": "5.0"}, {"from": "1700000000"}, {"to": "9999-12-31T23:00:00Z"}):
        listed = await system.appointments.get("/appointments", params=params, headers=patient["headers"])
        assert listed.status_code == 422, params
    change = await system.auth.put("/users/profile", json={"date_of_birth": 0}, headers=patient["headers"])
    assert change.status_code == 422


async def test_numbers_and_booleans_are_not_coerced_from_text(system: System):
    doctor, admin = await system.doctor(), await system.user("admin")
    assert (await system.appointments.put("/doctors/profile", json={"appointment_minutes": "30"},
                                          headers=doctor["headers"])).status_code == 422  # fmt: skip
    patient = await system.user("patient")
    appointment = await system.appointment(doctor, patient, "arrived")
    prescription = await system.prescription(doctor, appointment)
    stale_text = {"version": "1", "status": "on-hold"}
    response = await system.prescriptions.put(
        f"/prescriptions/{prescription['id']}", json=stale_text, headers=doctor["headers"]
    )
    assert response.status_code == 422
    response = await system.auth.patch(f"/users/{patient['id']}", json={"is_active": "no"}, headers=admin["headers"])
    assert response.status_code == 422
    still = await system.auth.get("/users/profile", headers=patient["headers"])
    assert still.status_code == 200 and still.json()["is_active"] is True


async def test_nul_characters_are_refused_before_they_reach_the_database(system: System):
    doctor, admin = await system.doctor(), await system.user("admin")
    headers = doctor["headers"]
    directory = await system.appointments.get("/doctors", params={"specialty": "\x00~\x01"}, headers=headers)
    assert directory.status_code == 422
    result = await system.gql("appointments", '{ doctors(specialty: "a\\u0000b") { id } }', user=doctor)
    assert codes(result) == ["VALIDATION_ERROR"]
    bio = await system.appointments.put("/doctors/profile", json={"bio": "line\x00break"}, headers=headers)
    assert bio.status_code == 422
    users = await system.auth.get("/users", params={"q": "a\x00"}, headers=admin["headers"])
    assert users.status_code == 422
    login = await system.auth.post("/auth/login", json={"email": "a\x00@example.org", "password": "x"})
    assert login.status_code == 422
    # The directory still answers: nothing broke on the way.
    assert (await system.appointments.get("/doctors", headers=headers)).status_code == 200
