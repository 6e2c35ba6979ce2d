"""Who touched which prescription: every read and write, allowed or denied, on every path, leaves one event."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from subgraphs.kit.audit import verify_chain
from subgraphs.kit.db import sync_url

from .conftest import World

ONE = "query($id: ID!) { prescription(id: $id) { id medication } }"
ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Prescription { id medication } } }"
NESTED = """
query($r: [_Any!]!) {
  _entities(representations: $r) {
    ... on User { id prescriptions { id } }
    ... on Appointment { id prescriptions { id } }
  }
}
"""


async def events(world: World) -> list[dict]:
    await world.app.state.audit.flush()
    rows, _total = await world.app.state.audit.search(limit=1000, offset=0)
    return sorted(rows, key=lambda row: (row["occurred_at"], row["seq"]))


def summary(trail: list[dict]) -> list[tuple]:
    return [(e["action"], e["resource_id"], e["actor_role"], e["outcome"]) for e in trail]


async def test_every_read_and_write_leaves_one_event_with_who_what_whose(world: World):
    doctor, patient = await world.doctor(), world.patient()
    issued = await world.issued(doctor, patient, instructions="After meals")
    rx = issued["id"]
    headers = {**patient.headers, "x-request-id": "req-rx-read"}
    assert (await world.client.get(f"/prescriptions/{rx}", headers=headers)).status_code == 200
    assert (await world.client.get("/prescriptions", headers=patient.headers)).json()["total"] == 1
    changed = await world.client.put(
        f"/prescriptions/{rx}", json={"version": 1, "status": "on-hold"}, headers=doctor.headers
    )
    assert changed.status_code == 200
    assert "errors" not in await world.gql(ONE, {"id": rx}, user=patient)
    nested = {
        "r": [
            {"__typename": "User", "id": str(patient.id)},
            {"__typename": "Appointment", "id": issued["appointment_id"]},
        ]
    }
    result = await world.gql(NESTED, nested, user=doctor)
    assert [len(e["prescriptions"]) for e in result["data"]["_entities"]] == [1, 1]

    assert summary(await events(world)) == [
        ("create", rx, "doctor", "allowed"),
        ("read", rx, "patient", "allowed"),
        ("list", rx, "patient", "allowed"),
        ("update", rx, "doctor", "allowed"),
        ("read", rx, "patient", "allowed"),
        # User.prescriptions and Appointment.prescriptions: one event per prescription returned
        ("list", rx, "doctor", "allowed"),
        ("list", rx, "doctor", "allowed"),
    ]
    trail = await events(world)
    assert all(str(e["patient_id"]) == str(patient.id) for e in trail)
    assert trail[1]["request_id"] == "req-rx-read" and str(trail[1]["actor_id"]) == str(patient.id)
    flat = str(trail)
    for clinical in ("Amoxicillin", "capsule", "After meals"):
        assert clinical not in flat


async def test_denied_reads_through_entities_are_recorded_for_the_patient_to_see(world: World):
    doctor, patient = await world.doctor(), world.patient()
    rx = (await world.issued(doctor, patient))["id"]
    stranger, admin = world.patient(), world.admin()
    representation = {"r": [{"__typename": "Prescription", "id": rx}]}
    hidden = await world.gql(ENTITIES, representation, user=stranger)
    assert hidden["data"]["_entities"] == [None] and hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    refused = await world.gql(ENTITIES, representation, user=admin)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await world.client.get("/prescriptions", headers=admin.headers)).status_code == 403

    denied = [e for e in await events(world) if e["outcome"] == "denied"]
    assert [(e["action"], e["resource_id"], e["actor_role"]) for e in denied] == [
        ("read", rx, "patient"),
        ("read", rx, "admin"),
        ("list", None, "admin"),
    ]
    # The stranger's attempt is about the patient's record; the admin's is refused before any record is read.
    assert str(denied[0]["patient_id"]) == str(patient.id) and denied[1]["patient_id"] is None

    mine = (await world.client.get("/audit", headers=patient.headers)).json()
    assert str(stranger.id) in {e["actor_id"] for e in mine["items"]}
    assert all(e["patient_id"] == str(patient.id) for e in mine["items"])
    assert (await world.client.get("/audit", headers=stranger.headers)).json()["items"] == []
    assert (await world.client.get("/audit", headers=admin.headers)).json()["total"] == len(await events(world))


async def test_refused_issues_and_changes_are_recorded_with_their_outcome(world: World):
    doctor, other_doctor, patient = await world.doctor(), await world.doctor(), world.patient()
    booked = await world.appointment(doctor, patient, "booked")
    arrived = await world.appointment(doctor, patient, "arrived")
    assert (await world.issue(patient, arrived["id"])).status_code == 403  # not a doctor
    assert (await world.issue(other_doctor, arrived["id"])).status_code == 404  # not their appointment
    assert (await world.issue(doctor, booked["id"])).status_code == 409  # not yet arrived
    rx = (await world.issue(doctor, arrived["id"])).json()["id"]
    stale = await world.client.put(
        f"/prescriptions/{rx}", json={"version": 7, "status": "stopped"}, headers=doctor.headers
    )
    assert stale.status_code == 409

    trail = await events(world)
    assert [(e["action"], e["actor_role"], e["outcome"]) for e in trail] == [
        ("create", "patient", "denied"),
        ("create", "doctor", "denied"),
        ("create", "doctor", "refused"),
        ("create", "doctor", "allowed"),
        ("update", "doctor", "refused"),
    ]
    # Where the appointment service answered, the event names the patient; where it did not, it cannot.
    assert [str(e["patient_id"]) if e["patient_id"] else None for e in trail] == [
        None,
        None,
        str(patient.id),
        str(patient.id),
        str(patient.id),
    ]
    assert await world.count_rows() == 1


async def test_counts_for_admins_are_recorded_too(world: World):
    admin, patient = world.admin(), world.patient()
    assert (await world.client.get("/prescriptions/stats", headers=admin.headers)).status_code == 200
    assert (await world.client.get("/prescriptions/stats", headers=patient.headers)).status_code == 403
    assert [(e["action"], e["actor_role"], e["outcome"]) for e in await events(world)] == [
        ("stats", "admin", "allowed"),
        ("stats", "patient", "denied"),
    ]


async def test_the_chain_holds_and_postgres_refuses_changes(world: World, backend):
    doctor, patient = await world.doctor(), world.patient()
    await world.issued(doctor, patient)
    total = len(await events(world))
    engine = create_engine(sync_url(world.app.state.db.url))
    try:
        with engine.connect() as connection:
            assert verify_chain(connection, "prescriptions") == (total, None)
        if backend == "postgresql":
            with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
                connection.execute(text("UPDATE prescriptions_audit_log SET outcome = 'denied'"))
    finally:
        engine.dispose()
