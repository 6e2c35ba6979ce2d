"""Who sees which appointments: the same rules on REST, GraphQL root fields and `_entities`."""

from __future__ import annotations

import pytest

from .conftest import AppointmentsApi, at, iso, monday

ENTITIES = """
query($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Appointment { id status reason patient { id } } }
}
"""
ONE = "query($id: ID!) { appointment(id: $id) { id reason } }"
UPDATE = "mutation($id: ID!, $i: AppointmentUpdateInput!) { updateAppointment(id: $id, input: $i) { id } }"
CANCEL = "mutation($id: ID!) { cancelAppointment(id: $id) { id status } }"


def reps(*ids: str) -> dict:
    return {"representations": [{"__typename": "Appointment", "id": i} for i in ids]}


@pytest.fixture
async def two_patients(api: AppointmentsApi):
    doctor, profile = await api.doctor()
    alice, bob = api.caller(), api.caller()
    mine = await api.booked(alice, profile["id"], at(monday(), "10:00"), reason="Alice's secret")
    theirs = await api.booked(bob, profile["id"], at(monday(), "11:00"), reason="Bob's secret")
    return doctor, alice, bob, mine, theirs


async def test_patient_cannot_read_change_or_cancel_another_patients_appointment_by_rest(api, two_patients):
    _doctor, alice, _bob, _mine, theirs = two_patients
    url = f"/appointments/{theirs['id']}"
    for response in (
        await api.client.get(url, headers=alice.headers),
        await api.client.put(url, json={"reason": "hijacked"}, headers=alice.headers),
        await api.client.put(url, json={"status": "cancelled"}, headers=alice.headers),
        await api.client.delete(url, headers=alice.headers),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "NOT_FOUND"
        assert "Bob" not in response.text
    listed = (await api.client.get("/appointments", headers=alice.headers)).json()
    assert [a["id"] for a in listed["items"]] == [two_patients[3]["id"]] and listed["total"] == 1
    filtered = (await api.client.get("/appointments", params={"patient_id": _bob.id}, headers=alice.headers)).json()
    assert filtered["items"] == [] and filtered["total"] == 0
    assert await api.statuses() == ["booked", "booked"]
    bob_view = (await api.client.get(url, headers=_bob.headers)).json()
    assert bob_view["reason"] == "Bob's secret"


async def test_patient_cannot_reach_another_patients_appointment_by_graphql(api, two_patients):
    _doctor, alice, _bob, mine, theirs = two_patients
    root = await api.gql(ONE, {"id": theirs["id"]}, alice)
    assert root["data"]["appointment"] is None
    assert root["errors"][0]["extensions"]["code"] == "NOT_FOUND"

    entities = await api.gql(ENTITIES, reps(mine["id"], theirs["id"]), alice)
    assert entities["data"]["_entities"][0]["id"] == mine["id"]
    assert entities["data"]["_entities"][1] is None
    assert entities["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert entities["errors"][0]["path"] == ["_entities", 1]
    assert "Bob" not in str(entities)

    changed = await api.gql(UPDATE, {"id": theirs["id"], "i": {"reason": "hijacked"}}, alice)
    assert changed["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    cancelled = await api.gql(CANCEL, {"id": theirs["id"]}, alice)
    assert cancelled["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert await api.statuses() == ["booked", "booked"]

    listed = await api.gql("{ appointments { id } }", caller=alice)
    assert listed["data"]["appointments"] == [{"id": mine["id"]}]


async def test_user_appointments_of_someone_else_are_empty(api, two_patients):
    _doctor, alice, bob, mine, _theirs = two_patients
    query = (
        """query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id appointments { id } } } }"""
    )
    result = await api.gql(query, {"reps": [{"__typename": "User", "id": u.id} for u in (alice, bob)]}, alice)
    assert result["data"]["_entities"] == [
        {"id": alice.id, "appointments": [{"id": mine["id"]}]},
        {"id": bob.id, "appointments": []},
    ]


async def test_doctor_sees_only_their_own_appointments(api: AppointmentsApi):
    first_doctor, first = await api.doctor()
    second_doctor, second = await api.doctor()
    patient = api.caller()
    one = await api.booked(patient, first["id"], at(monday(), "10:00"))
    two = await api.booked(patient, second["id"], at(monday(), "11:00"))

    listed = (await api.client.get("/appointments", headers=first_doctor.headers)).json()
    assert [a["id"] for a in listed["items"]] == [one["id"]]
    asked_for_other = await api.client.get(
        "/appointments", params={"doctor_id": second["id"]}, headers=first_doctor.headers
    )
    assert asked_for_other.json()["total"] == 0
    assert (await api.client.get(f"/appointments/{two['id']}", headers=first_doctor.headers)).status_code == 404
    other = await api.client.put(f"/appointments/{two['id']}", json={"status": "noshow"}, headers=first_doctor.headers)
    assert other.status_code == 404

    gql = await api.gql("{ appointments { id } }", caller=second_doctor)
    assert gql["data"]["appointments"] == [{"id": two["id"]}]
    entities = await api.gql(ENTITIES, reps(one["id"]), second_doctor)
    assert entities["data"]["_entities"] == [None]

    admin = api.caller("admin")
    everything = (await api.client.get("/appointments", headers=admin.headers)).json()
    assert {a["id"] for a in everything["items"]} == {one["id"], two["id"]}


async def test_listing_filters_and_pages(api: AppointmentsApi):
    doctor, profile = await api.doctor()
    patient = api.caller()
    day = monday()
    made = [await api.booked(patient, profile["id"], at(day, f"{hour}:00")) for hour in (10, 11, 12, 13)]
    await api.client.put(f"/appointments/{made[1]['id']}", json={"status": "noshow"}, headers=doctor.headers)

    def ids(body: dict) -> list[str]:
        return [a["id"] for a in body["items"]]

    async def listing(**params) -> dict:
        response = await api.client.get("/appointments", params=params, headers=patient.headers)
        assert response.status_code == 200, response.text
        return response.json()

    assert ids(await listing()) == [a["id"] for a in made]  # by start time
    assert ids(await listing(status="noshow")) == [made[1]["id"]]
    window = await listing(**{"from": iso(at(day, "11:00")), "to": iso(at(day, "13:00"))})
    assert ids(window) == [made[1]["id"], made[2]["id"]]
    page = await listing(limit=2, offset=1)
    assert ids(page) == [made[1]["id"], made[2]["id"]] and page["total"] == 4
    assert (await listing(limit=1000))["limit"] == 100
    assert ids(await listing(doctor_id=profile["id"], patient_id=patient.id)) == ids(await listing())

    backwards = await api.client.get(
        "/appointments", params={"from": iso(at(day, "13:00")), "to": iso(at(day, "11:00"))}, headers=patient.headers
    )
    assert backwards.status_code == 422 and backwards.json()["code"] == "INVALID_TIME_RANGE"
    gql = await api.gql(
        "query($f: DateTime, $t: DateTime) { appointments(status: BOOKED, from: $f, to: $t, limit: 1) { id } }",
        {"f": iso(at(day, "11:00")), "t": iso(at(day, "14:00"))},
        patient,
    )
    assert gql["data"]["appointments"] == [{"id": made[2]["id"]}]


@pytest.mark.parametrize(
    "params",
    [{"status": "done"}, {"from": "2030-01-01T10:00:00"}, {"doctor_id": "nope"}, {"limit": 0}, {"offset": -1}],
)
async def test_malformed_list_queries_are_422(api: AppointmentsApi, params):
    response = await api.client.get("/appointments", params=params, headers=api.caller().headers)
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"


async def test_naive_graphql_times_are_refused(api: AppointmentsApi):
    result = await api.gql('{ appointments(from: "2030-01-01T10:00:00") { id } }', caller=api.caller())
    assert result["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
