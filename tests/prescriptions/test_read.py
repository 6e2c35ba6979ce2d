"""GET /prescriptions and /prescriptions/{id}: who sees what, filters, pages, the medication list."""

from __future__ import annotations

import uuid

import pytest

from .conftest import World


async def test_patients_see_their_own_and_doctors_those_they_issued(world: World):
    doctor_a, doctor_b = await world.doctor(), await world.doctor()
    alice, bob = world.patient(), world.patient()
    a1 = await world.issued(doctor_a, alice)
    a2 = await world.issued(doctor_b, alice)
    b1 = await world.issued(doctor_a, bob)

    def ids(response) -> set[str]:
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert ids(await world.client.get("/prescriptions", headers=alice.headers)) == {a1["id"], a2["id"]}
    assert ids(await world.client.get("/prescriptions", headers=bob.headers)) == {b1["id"]}
    assert ids(await world.client.get("/prescriptions", headers=doctor_a.headers)) == {a1["id"], b1["id"]}
    assert ids(await world.client.get("/prescriptions", headers=doctor_b.headers)) == {a2["id"]}
    # Filters narrow what the caller may see; they never widen it.
    assert (
        ids(await world.client.get("/prescriptions", params={"patient_id": str(bob.id)}, headers=alice.headers))
        == set()
    )
    assert ids(
        await world.client.get("/prescriptions", params={"patient_id": str(alice.id)}, headers=doctor_a.headers)
    ) == {a1["id"]}
    assert ids(
        await world.client.get("/prescriptions", params={"appointment_id": a2["appointment_id"]}, headers=alice.headers)
    ) == {a2["id"]}


async def test_one_prescription_by_id(world: World):
    doctor, other_doctor = await world.doctor(), await world.doctor()
    patient, other_patient = world.patient(), world.patient()
    issued = await world.issued(doctor, patient)
    path = f"/prescriptions/{issued['id']}"
    for caller in (patient, doctor):
        response = await world.client.get(path, headers=caller.headers)
        assert response.status_code == 200 and response.json() == issued
    for stranger in (other_patient, other_doctor):
        response = await world.client.get(path, headers=stranger.headers)
        assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"
        assert issued["medication"] not in response.text
    missing = await world.client.get(f"/prescriptions/{uuid.uuid4()}", headers=patient.headers)
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
    malformed = await world.client.get("/prescriptions/not-an-id", headers=patient.headers)
    assert malformed.status_code == 422


async def test_admins_see_no_prescription_in_detail(world: World):
    doctor, patient, admin = await world.doctor(), world.patient(), world.admin()
    issued = await world.issued(doctor, patient)
    for path in ("/prescriptions", f"/prescriptions/{issued['id']}", f"/prescriptions/{uuid.uuid4()}"):
        response = await world.client.get(path, headers=admin.headers)
        assert response.status_code == 403, path
        assert response.json()["code"] == "FORBIDDEN"
        assert issued["medication"] not in response.text


async def test_reads_need_a_token(world: World):
    for path in ("/prescriptions", f"/prescriptions/{uuid.uuid4()}"):
        response = await world.client.get(path)
        assert response.status_code == 401 and response.json()["code"] == "UNAUTHENTICATED"
    bad = await world.client.get("/prescriptions", headers={"authorization": "Bearer nonsense"})
    assert bad.status_code == 401


async def test_lists_are_pages_newest_first(world: World):
    doctor, patient = world.signed_in("doctor"), world.patient()
    seeded = await world.seed(7, doctor.id, patient.id)  # seeded[0] is the newest
    response = await world.client.get("/prescriptions", params={"limit": 3, "offset": 2}, headers=patient.headers)
    assert response.status_code == 200
    page = response.json()
    assert (page["total"], page["limit"], page["offset"]) == (7, 3, 2)
    assert [item["id"] for item in page["items"]] == seeded[2:5]
    capped = await world.client.get("/prescriptions", params={"limit": 1000}, headers=patient.headers)
    assert capped.json()["limit"] == 100
    assert (await world.client.get("/prescriptions", params={"limit": 0}, headers=patient.headers)).status_code == 422


@pytest.mark.parametrize("bad", [{"status": "paused"}, {"patient_id": "x"}, {"appointment_id": "1"}, {"offset": -1}])
async def test_bad_filters_are_refused(world: World, bad):
    patient = world.patient()
    response = await world.client.get("/prescriptions", params=bad, headers=patient.headers)
    assert response.status_code == 422 and response.json()["code"] == "VALIDATION_ERROR"


async def test_a_patients_medication_list_is_their_active_prescriptions(world: World):
    doctor, patient = await world.doctor(), world.patient()
    antibiotic = await world.issued(doctor, patient, duration_days=10, refills=0)
    inhaler = await world.issued(
        doctor,
        patient,
        medication="Salbutamol inhaler",
        dosage="2 puffs",
        frequency="as needed",
        duration_days=None,
        refills=3,
    )
    paused = await world.issued(doctor, patient, medication="Warfarin")
    held = await world.client.put(
        f"/prescriptions/{paused['id']}", json={"version": 1, "status": "on-hold"}, headers=doctor.headers
    )
    assert held.status_code == 200

    response = await world.client.get("/prescriptions", params={"status": "active"}, headers=patient.headers)
    assert response.status_code == 200
    items = {item["medication"]: item for item in response.json()["items"]}
    assert set(items) == {antibiotic["medication"], inhaler["medication"]}
    assert items["Salbutamol inhaler"]["ends_on"] is None  # no duration, no end date
    assert items["Salbutamol inhaler"]["refills"] == 3
    assert items[antibiotic["medication"]]["ends_on"] == antibiotic["ends_on"]
    on_hold = await world.client.get("/prescriptions", params={"status": "on-hold"}, headers=patient.headers)
    assert [item["id"] for item in on_hold.json()["items"]] == [paused["id"]]
