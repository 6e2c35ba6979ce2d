"""The prescriptions subgraph as the router sees it: fields, mutations, `_entities`, visibility, query counts."""

from __future__ import annotations

import uuid

import pytest

from ..conftest import SqlCounter
from .conftest import World

FIELDS = "id medication dosage frequency durationDays refills instructions status version issuedAt updatedAt endsOn"

ISSUE = f"mutation($i: IssuePrescriptionInput!) {{ issuePrescription(input: $i) {{ {FIELDS} }} }}"
UPDATE = "mutation($id: ID!, $i: PrescriptionUpdateInput!) { updatePrescription(id: $id, input: $i) { id status version instructions } }"
ONE = (
    f"query($id: ID!) {{ prescription(id: $id) {{ {FIELDS} appointment {{ id }} patient {{ id }} doctor {{ id }} }} }}"
)
LIST = (
    "query($s: PrescriptionStatus, $l: Int, $o: Int) { prescriptions(status: $s, limit: $l, offset: $o) { id status } }"
)
# Limits keep 100 representations under the cost limit, which counts every branch for each one.
ENTITIES = """
query($r: [_Any!]!) {
  _entities(representations: $r) {
    ... on Prescription { id medication patient { id } }
    ... on User { id prescriptions(status: ACTIVE, limit: 10) { id medication dosage frequency endsOn refills } }
    ... on Appointment { id prescriptions(limit: 10) { id } }
  }
}
"""


def issue_input(appointment_id, **fields) -> dict:
    return {
        "appointmentId": str(appointment_id),
        "medication": "Metformin 500 mg",
        "dosage": "1 tablet",
        "frequency": "twice a day",
        "durationDays": 30,
        "refills": 2,
        **fields,
    }


def reps(typename: str, ids) -> dict:
    return {"r": [{"__typename": typename, "id": str(i)} for i in ids]}


def codes(result: dict) -> list[str]:
    return [error["extensions"]["code"] for error in result.get("errors", [])]


async def test_the_endpoint_is_for_the_router_only(world: World):
    response = await world.client.post("/graphql", json={"query": "{ _service { sdl } }"})
    assert response.status_code == 401


async def test_issue_read_and_update_through_graphql(world: World):
    doctor, patient = await world.doctor(), world.patient()
    appointment = await world.appointment(doctor, patient, "arrived")
    issued = await world.gql(ISSUE, {"i": issue_input(appointment["id"])}, user=doctor)
    assert "errors" not in issued, issued
    prescription = issued["data"]["issuePrescription"]
    assert (prescription["status"], prescription["version"], prescription["refills"]) == ("ACTIVE", 1, 2)
    assert prescription["endsOn"] is not None

    read = await world.gql(ONE, {"id": prescription["id"]}, user=patient)
    assert "errors" not in read, read
    one = read["data"]["prescription"]
    # References to entities the other subgraphs own: the router resolves the rest.
    assert one["appointment"] == {"id": appointment["id"]}
    assert one["patient"] == {"id": str(patient.id)}
    assert one["doctor"] == {"id": str(doctor.id)}

    updated = await world.gql(
        UPDATE,
        {"id": prescription["id"], "i": {"version": 1, "status": "ON_HOLD", "instructions": "pause"}},
        user=doctor,
    )
    assert updated["data"]["updatePrescription"] == {
        "id": prescription["id"],
        "status": "ON_HOLD",
        "version": 2,
        "instructions": "pause",
    }
    stale = await world.gql(UPDATE, {"id": prescription["id"], "i": {"version": 1, "status": "ACTIVE"}}, user=doctor)
    assert stale["data"] == {"updatePrescription": None} and codes(stale) == ["VERSION_CONFLICT"]
    assert stale["errors"][0]["extensions"]["currentVersion"] == 2

    held = await world.gql(LIST, {"s": "ON_HOLD"}, user=patient)
    assert held["data"]["prescriptions"] == [{"id": prescription["id"], "status": "ON_HOLD"}]
    assert (await world.gql(LIST, {"s": "ACTIVE"}, user=patient))["data"]["prescriptions"] == []


@pytest.mark.parametrize(
    ("status", "caller", "code"),
    [
        ("booked", "doctor", "APPOINTMENT_NOT_ELIGIBLE"),
        ("arrived", "other_doctor", "APPOINTMENT_NOT_FOUND"),
        ("arrived", "patient", "FORBIDDEN"),
        ("arrived", "anonymous", "UNAUTHENTICATED"),
    ],
)
async def test_issue_refusals_carry_the_rest_codes(world: World, status, caller, code):
    doctor, patient = await world.doctor(), world.patient()
    appointment = await world.appointment(doctor, patient, status)
    callers = {"doctor": doctor, "patient": patient, "anonymous": None}
    user = callers[caller] if caller in callers else await world.doctor()
    result = await world.gql(ISSUE, {"i": issue_input(appointment["id"])}, user=user)
    assert result["data"] == {"issuePrescription": None} and codes(result) == [code]
    assert await world.count_rows() == 0


async def test_issue_validates_like_rest(world: World):
    doctor = await world.doctor()
    result = await world.gql(ISSUE, {"i": issue_input(uuid.uuid4(), refills=13)}, user=doctor)
    assert codes(result) == ["VALIDATION_ERROR"]
    assert result["errors"][0]["extensions"]["errors"][0]["loc"] == ["refills"]


async def test_a_patient_cannot_read_another_patients_prescription(world: World):
    doctor, alice, bob = await world.doctor(), world.patient(), world.patient()
    theirs = await world.issued(doctor, alice)

    rest = await world.client.get(f"/prescriptions/{theirs['id']}", headers=bob.headers)
    assert rest.status_code == 404

    direct = await world.gql(ONE, {"id": theirs["id"]}, user=bob)
    assert direct["data"]["prescription"] is None and codes(direct) == ["NOT_FOUND"]

    entities = await world.gql(ENTITIES, reps("Prescription", [theirs["id"]]), user=bob)
    assert entities["data"]["_entities"] == [None]
    assert codes(entities) == ["NOT_FOUND"] and entities["errors"][0]["path"] == ["_entities", 0]

    # Through Alice as a User entity Bob gets an empty list: the field shows what *he* may see.
    nested = await world.gql(ENTITIES, reps("User", [alice.id]), user=bob)
    assert nested["data"]["_entities"] == [{"id": str(alice.id), "prescriptions": []}]
    for result in (direct, entities, nested):
        assert theirs["medication"] not in str(result)


async def test_admins_get_forbidden_on_every_path(world: World):
    doctor, patient, admin = await world.doctor(), world.patient(), world.admin()
    issued = await world.issued(doctor, patient)
    one = await world.gql(ONE, {"id": issued["id"]}, user=admin)
    assert one["data"]["prescription"] is None and codes(one) == ["FORBIDDEN"]
    listed = await world.gql(LIST, {}, user=admin)
    assert listed["data"] == {"prescriptions": None} and codes(listed) == ["FORBIDDEN"]
    entities = await world.gql(ENTITIES, reps("Prescription", [issued["id"]]), user=admin)
    assert entities["data"]["_entities"] == [None] and codes(entities) == ["FORBIDDEN"]
    nested = await world.gql(ENTITIES, reps("User", [patient.id]), user=admin)
    # The user stays; only their prescriptions are refused (a nullable list, with the reason).
    assert nested["data"]["_entities"] == [{"id": str(patient.id), "prescriptions": None}]
    assert codes(nested) == ["FORBIDDEN"]
    assert issued["medication"] not in str([one, listed, entities, nested])


async def test_without_a_token_fields_are_unauthenticated(world: World):
    result = await world.gql(ENTITIES, reps("Prescription", [uuid.uuid4()]))
    assert codes(result) == ["UNAUTHENTICATED"]
    assert codes(await world.gql(LIST)) == ["UNAUTHENTICATED"]


async def test_a_patients_medication_list_through_user_prescriptions(world: World):
    """What `me { prescriptions(status: ACTIVE) { ... } }` asks this subgraph, via the router."""
    doctor, patient = await world.doctor(), world.patient()
    active = await world.issued(doctor, patient, duration_days=14, refills=2)
    stopped = await world.issued(doctor, patient, medication="Old drug")
    await world.client.put(
        f"/prescriptions/{stopped['id']}", json={"version": 1, "status": "stopped"}, headers=doctor.headers
    )
    result = await world.gql(ENTITIES, reps("User", [patient.id]), user=patient)
    assert "errors" not in result, result
    assert result["data"]["_entities"][0]["prescriptions"] == [
        {
            "id": active["id"],
            "medication": active["medication"],
            "dosage": active["dosage"],
            "frequency": active["frequency"],
            "endsOn": active["ends_on"],
            "refills": 2,
        }
    ]
    # The doctor, as a User, lists what they issued.
    as_doctor = await world.gql(ENTITIES, reps("User", [doctor.id]), user=doctor)
    assert [p["id"] for p in as_doctor["data"]["_entities"][0]["prescriptions"]] == [active["id"]]


async def test_appointment_prescriptions(world: World):
    doctor, patient, other = await world.doctor(), world.patient(), world.patient()
    first = await world.issued(doctor, patient)
    second = await world.issued(doctor, patient)
    for caller, expected in ((patient, [first["id"]]), (doctor, [first["id"]]), (other, [])):
        result = await world.gql(ENTITIES, reps("Appointment", [first["appointment_id"]]), user=caller)
        assert [p["id"] for p in result["data"]["_entities"][0]["prescriptions"]] == expected
    assert second["appointment_id"] != first["appointment_id"]


@pytest.mark.parametrize("count", [10, 100])
async def test_entities_cost_one_query_however_many(world: World, count):
    doctor, patient = world.signed_in("doctor"), world.patient()
    ids = await world.seed(count, doctor.id, patient.id)
    sql = SqlCounter(world.app.state.db.engine)
    result = await world.gql(ENTITIES, reps("Prescription", ids), user=patient)
    assert "errors" not in result
    assert [entity["id"] for entity in result["data"]["_entities"]] == ids
    assert sql.count == 1, sql.statements


@pytest.mark.parametrize("users", [3, 30])
async def test_user_prescriptions_for_many_users_cost_one_query(world: World, users):
    doctor = world.signed_in("doctor")
    patients = [uuid.uuid4() for _ in range(users)]
    for patient_id in patients:
        await world.seed(2, doctor.id, patient_id)
    sql = SqlCounter(world.app.state.db.engine)
    result = await world.gql(ENTITIES, reps("User", patients), user=doctor)
    assert "errors" not in result, result
    assert [len(entity["prescriptions"]) for entity in result["data"]["_entities"]] == [2] * users
    assert sql.count == 1, sql.statements


@pytest.mark.parametrize("appointments", [3, 30])
async def test_appointment_prescriptions_for_many_appointments_cost_one_query(world: World, appointments):
    doctor, patient = world.signed_in("doctor"), world.patient()
    appointment_ids = [uuid.uuid4() for _ in range(appointments)]
    for appointment_id in appointment_ids:
        await world.seed(1, doctor.id, patient.id, appointment_id)
    sql = SqlCounter(world.app.state.db.engine)
    result = await world.gql(ENTITIES, reps("Appointment", appointment_ids), user=patient)
    assert [len(entity["prescriptions"]) for entity in result["data"]["_entities"]] == [1] * appointments
    assert sql.count == 1, sql.statements


async def test_user_prescriptions_are_paged_per_user(world: World):
    doctor, patient = world.signed_in("doctor"), world.patient()
    ids = await world.seed(5, doctor.id, patient.id)
    query = """
    query($r: [_Any!]!) { _entities(representations: $r) { ... on User { prescriptions(limit: 2, offset: 1) { id } } } }
    """
    result = await world.gql(query, reps("User", [patient.id]), user=patient)
    assert [p["id"] for p in result["data"]["_entities"][0]["prescriptions"]] == ids[1:3]


@pytest.mark.parametrize("path", ["graphql", "rest"])
async def test_an_issue_failing_after_its_insert_leaves_no_rows(world: World, monkeypatch, path):
    """docs/pitfalls.md #1: the INSERT is flushed, then the unit of work fails; nothing may remain."""
    doctor, patient = await world.doctor(), world.patient()
    appointment = await world.appointment(doctor, patient, "arrived")
    real_record = world.app.state.audit.append

    async def record_then_fail(session, *args, **kwargs):
        await real_record(session, *args, **kwargs)  # the prescription and the audit row are both flushed
        raise RuntimeError("failure after the INSERT ran")

    monkeypatch.setattr(world.app.state.audit, "append", record_then_fail)
    if path == "graphql":
        result = await world.gql(ISSUE, {"i": issue_input(appointment["id"])}, user=doctor)
        assert codes(result) == ["INTERNAL_SERVER_ERROR"]
        assert "failure after" not in str(result)
    else:
        response = await world.issue(doctor, appointment["id"])
        assert response.status_code == 500 and "failure after" not in response.text
    assert await world.count_rows() == 0


async def test_an_update_failing_after_its_update_changes_nothing(world: World, monkeypatch):
    doctor, patient = await world.doctor(), world.patient()
    issued = await world.issued(doctor, patient)
    real_record = world.app.state.audit.append

    async def record_then_fail(session, *args, **kwargs):
        await real_record(session, *args, **kwargs)
        raise RuntimeError("failure after the UPDATE ran")

    monkeypatch.setattr(world.app.state.audit, "append", record_then_fail)
    result = await world.gql(UPDATE, {"id": issued["id"], "i": {"version": 1, "status": "STOPPED"}}, user=doctor)
    assert codes(result) == ["INTERNAL_SERVER_ERROR"]
    monkeypatch.undo()
    after = (await world.client.get(f"/prescriptions/{issued['id']}", headers=doctor.headers)).json()
    assert (after["status"], after["version"]) == ("active", 1)


async def test_malformed_ids_are_not_found(world: World):
    patient = world.patient()
    result = await world.gql(ONE, {"id": "not-a-uuid"}, user=patient)
    assert result["data"]["prescription"] is None and codes(result) == ["NOT_FOUND"]
    entities = await world.gql(ENTITIES, reps("User", ["nope"]), user=patient)
    assert entities["data"]["_entities"] == [{"id": "nope", "prescriptions": []}]
