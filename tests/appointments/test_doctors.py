"""Doctor profiles: one per doctor user, a public directory for every signed-in caller."""

from __future__ import annotations

import pytest

from subgraphs.appointments.doctors.models import DoctorProfile

from .conftest import WEEKDAYS_9_TO_5, AppointmentsApi

VALID = {"display_name": "Dr. Who", "specialty": "Cardiology", "license_number": "GMC-1"}


async def test_doctor_creates_reads_and_updates_their_profile(api: AppointmentsApi):
    doctor = api.caller("doctor")
    created = await api.client.post(
        "/doctors/profile",
        json={**VALID, "working_hours": WEEKDAYS_9_TO_5, "timezone": "Europe/London", "bio": "Hearts."},
        headers=doctor.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    # One id per doctor: the profile's id is the doctor's user id.
    assert body["id"] == body["user_id"] == doctor.id
    assert body["appointment_minutes"] == 30 and body["timezone"] == "Europe/London"
    assert body["working_hours"][0] == {"weekday": 0, "start": "09:00", "end": "17:00"}

    read = await api.client.get("/doctors/profile", headers=doctor.headers)
    assert read.status_code == 200 and read.json() == body

    updated = await api.client.put(
        "/doctors/profile", json={"specialty": "Neurology", "bio": None}, headers=doctor.headers
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["specialty"] == "Neurology"
    assert updated.json()["bio"] is None
    assert updated.json()["display_name"] == "Dr. Who"  # left out, kept


async def test_second_profile_is_409_profile_exists(api: AppointmentsApi):
    doctor, _ = await api.doctor()
    again = await api.client.post("/doctors/profile", json=VALID, headers=doctor.headers)
    assert again.status_code == 409
    assert again.json()["code"] == "PROFILE_EXISTS"
    assert await api.count(DoctorProfile) == 1


@pytest.mark.parametrize("role", ["patient", "admin"])
async def test_other_roles_have_no_doctor_profile(api: AppointmentsApi, role):
    caller = api.caller(role)
    for response in (
        await api.client.post("/doctors/profile", json=VALID, headers=caller.headers),
        await api.client.get("/doctors/profile", headers=caller.headers),
        await api.client.put("/doctors/profile", json={"bio": "x"}, headers=caller.headers),
    ):
        assert response.status_code == 403
        assert response.json()["code"] == "FORBIDDEN"
    assert await api.count(DoctorProfile) == 0


async def test_doctor_without_profile_gets_404(api: AppointmentsApi):
    doctor = api.caller("doctor")
    assert (await api.client.get("/doctors/profile", headers=doctor.headers)).status_code == 404
    response = await api.client.put("/doctors/profile", json={"bio": "x"}, headers=doctor.headers)
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"display_name": "  "}, "display_name"),
        ({"license_number": "x" * 65}, "license_number"),
        ({"appointment_minutes": 2}, "appointment_minutes"),
        ({"years_experience": -1}, "years_experience"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"working_hours": [{"weekday": 7, "start": "09:00", "end": "17:00"}]}, "weekday"),
        ({"working_hours": [{"weekday": 0, "start": "17:00", "end": "09:00"}]}, "working_hours"),
        ({"working_hours": [{"weekday": 0, "start": "9am", "end": "17:00"}]}, "start"),
        (
            {
                "working_hours": [
                    {"weekday": 0, "start": "09:00", "end": "13:00"},
                    {"weekday": 0, "start": "12:00", "end": "17:00"},
                ]
            },
            "working_hours",
        ),
        ({"working_hours": [{"weekday": 0, "start": "09:00", "end": "10:00"}] * 29}, "working_hours"),
        ({"user_id": "00000000-0000-0000-0000-000000000000"}, "user_id"),
    ],
)
async def test_invalid_profiles_are_422_and_write_nothing(api: AppointmentsApi, fields, bad):
    doctor = api.caller("doctor")
    response = await api.client.post("/doctors/profile", json={**VALID, **fields}, headers=doctor.headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "VALIDATION_ERROR"
    assert any(bad in error["loc"] for error in problem["errors"]), problem["errors"]
    assert await api.count(DoctorProfile) == 0


async def test_update_refuses_null_for_required_fields(api: AppointmentsApi):
    doctor, before = await api.doctor()
    response = await api.client.put("/doctors/profile", json={"display_name": None}, headers=doctor.headers)
    assert response.status_code == 422
    assert (await api.client.get("/doctors/profile", headers=doctor.headers)).json() == before


async def test_directory_filters_by_specialty_and_pages(api: AppointmentsApi):
    for index in range(3):
        await api.doctor(display_name=f"Dr. Heart {index}", specialty="Cardiology")
    await api.doctor(display_name="Dr. Skin", specialty="Dermatology")
    patient = api.caller("patient")

    everyone = (await api.client.get("/doctors", headers=patient.headers)).json()
    assert everyone["total"] == 4 and everyone["limit"] == 50 and everyone["offset"] == 0

    hearts = await api.client.get(
        "/doctors", params={"specialty": "cardiology", "limit": 2, "offset": 1}, headers=patient.headers
    )
    page = hearts.json()
    assert page["total"] == 3 and page["limit"] == 2 and page["offset"] == 1
    assert [d["display_name"] for d in page["items"]] == ["Dr. Heart 1", "Dr. Heart 2"]

    capped = await api.client.get("/doctors", params={"limit": 5000}, headers=patient.headers)
    assert capped.json()["limit"] == 100


async def test_one_doctor_by_id(api: AppointmentsApi):
    _doctor, profile = await api.doctor()
    patient = api.caller()
    found = await api.client.get(f"/doctors/{profile['id']}", headers=patient.headers)
    assert found.status_code == 200 and found.json() == profile
    missing = await api.client.get(f"/doctors/{api.caller().id}", headers=patient.headers)
    assert missing.status_code == 404


CREATE = """
mutation($i: DoctorInput!) {
  createDoctorProfile(input: $i) { id displayName specialty workingHours { weekday start end } timezone user { id } }
}
"""
UPDATE = "mutation($i: DoctorUpdateInput!) { updateDoctorProfile(input: $i) { id specialty bio } }"


async def test_graphql_profile_mutations_follow_the_same_rules(api: AppointmentsApi):
    doctor = api.caller("doctor")
    hours = [{"weekday": 0, "start": "08:00", "end": "12:00"}]
    variables = {"i": {"displayName": "Dr. Graph", "specialty": "GP", "licenseNumber": "L-9", "workingHours": hours}}
    created = await api.gql(CREATE, variables, doctor)
    assert "errors" not in created, created
    profile = created["data"]["createDoctorProfile"]
    assert profile["id"] == doctor.id and profile["user"] == {"id": doctor.id}
    assert profile["workingHours"] == hours and profile["timezone"] == "UTC"

    again = await api.gql(CREATE, variables, doctor)
    assert again["errors"][0]["extensions"]["code"] == "PROFILE_EXISTS"

    patient = await api.gql(CREATE, variables, api.caller("patient"))
    assert patient["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    invalid = await api.gql(UPDATE, {"i": {"timezone": "Nowhere/Else"}}, doctor)
    assert invalid["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"

    updated = await api.gql(UPDATE, {"i": {"specialty": "Cardiology", "bio": "Hi"}}, doctor)
    assert updated["data"]["updateDoctorProfile"] == {"id": doctor.id, "specialty": "Cardiology", "bio": "Hi"}
    assert await api.count(DoctorProfile) == 1


async def test_graphql_directory_and_doctor(api: AppointmentsApi):
    _doctor, profile = await api.doctor(specialty="Dermatology")
    await api.doctor(specialty="Cardiology")
    patient = api.caller()
    result = await api.gql(
        'query($id: ID!) { doctors(specialty: "dermatology") { id } doctor(id: $id) { id displayName } }',
        {"id": profile["id"]},
        patient,
    )
    assert result["data"]["doctors"] == [{"id": profile["id"]}]
    assert result["data"]["doctor"] == {"id": profile["id"], "displayName": profile["display_name"]}
    missing = await api.gql('{ doctor(id: "nope") { id } }', caller=patient)
    assert missing["data"]["doctor"] is None
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    anonymous = await api.gql("{ doctors { id } }")
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
