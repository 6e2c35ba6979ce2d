"""PUT /prescriptions/{id}: the status machine, optimistic concurrency, what never changes."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select

from subgraphs.kit.db import utcnow
from subgraphs.prescriptions.prescriptions import repository
from subgraphs.prescriptions.prescriptions.status import FINAL, TRANSITIONS, Status, allowed

from .conftest import World


async def put(world: World, caller, prescription_id, body: dict):
    return await world.client.put(f"/prescriptions/{prescription_id}", json=body, headers=caller.headers)


async def test_the_issuing_doctor_moves_a_prescription_through_its_statuses(world: World):
    doctor, patient = await world.doctor(), world.patient()
    issued = await world.issued(doctor, patient)
    steps = [("on-hold", 2), ("active", 3), ("completed", 4)]
    for status, version in steps:
        response = await put(world, doctor, issued["id"], {"version": version - 1, "status": status})
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["status"], body["version"]) == (status, version)
        assert body["medication"] == issued["medication"]
        assert body["updated_at"] >= issued["updated_at"]
    # A completed prescription is closed: no status, no instructions.
    closed = await put(world, doctor, issued["id"], {"version": 4, "instructions": "Take with water"})
    assert closed.status_code == 409 and closed.json()["code"] == "PRESCRIPTION_CLOSED"
    async with world.app.state.db.session() as session:
        trail = world.app.state.audit.table
        writes = select(trail.c.action).where(trail.c.action.in_(["create", "update"]), trail.c.outcome == "allowed")
        actions = list(await session.scalars(writes.order_by(trail.c.seq)))
    assert actions == ["create"] + ["update"] * 3


async def test_instructions_change_alone_and_null_clears_them(world: World):
    doctor, patient = await world.doctor(), world.patient()
    issued = await world.issued(doctor, patient)
    changed = await put(world, doctor, issued["id"], {"version": 1, "instructions": "  With food  "})
    assert changed.status_code == 200
    assert (changed.json()["instructions"], changed.json()["status"], changed.json()["version"]) == (
        "With food",
        "active",
        2,
    )
    cleared = await put(world, doctor, issued["id"], {"version": 2, "instructions": None})
    assert cleared.status_code == 200 and cleared.json()["instructions"] is None


@pytest.mark.parametrize(
    ("path", "target"),
    [(["on-hold"], "completed"), (["cancelled"], "active"), (["stopped"], "on-hold")],
    ids=["held-cannot-complete", "cancelled-is-final", "stopped-is-final"],
)
async def test_transitions_outside_the_machine_are_refused(world: World, path, target):
    doctor, patient = await world.doctor(), world.patient()
    issued = await world.issued(doctor, patient)
    version = 1
    for status in path:
        assert (await put(world, doctor, issued["id"], {"version": version, "status": status})).status_code == 200
        version += 1
    response = await put(world, doctor, issued["id"], {"version": version, "status": target})
    assert response.status_code == 409
    expected = "PRESCRIPTION_CLOSED" if Status(path[-1]) in FINAL else "INVALID_STATUS_TRANSITION"
    assert response.json()["code"] == expected


def test_the_status_machine():
    assert not allowed(Status.ON_HOLD, Status.COMPLETED)
    assert allowed(Status.ACTIVE, Status.ACTIVE) and not allowed(Status.STOPPED, Status.STOPPED)
    assert {Status.COMPLETED, Status.CANCELLED, Status.STOPPED} == FINAL
    assert all(Status.ACTIVE not in TRANSITIONS[final] for final in FINAL)


async def test_a_stale_version_is_a_conflict(world: World):
    doctor, patient = await world.doctor(), world.patient()
    issued = await world.issued(doctor, patient)
    assert (await put(world, doctor, issued["id"], {"version": 1, "status": "on-hold"})).status_code == 200
    stale = await put(world, doctor, issued["id"], {"version": 1, "status": "stopped"})
    assert stale.status_code == 409
    assert stale.json()["code"] == "VERSION_CONFLICT"
    assert stale.json()["current_version"] == 2
    assert (await world.client.get(f"/prescriptions/{issued['id']}", headers=doctor.headers)).json()[
        "status"
    ] == "on-hold"


async def test_concurrent_updates_of_one_version_let_exactly_one_win(world: World):
    doctor, patient = await world.doctor(), world.patient()
    issued = await world.issued(doctor, patient)
    results = await asyncio.gather(
        *(put(world, doctor, issued["id"], {"version": 1, "instructions": f"writer {n}"}) for n in range(4))
    )
    statuses = sorted(response.status_code for response in results)
    assert statuses == [200, 409, 409, 409]
    final = (await world.client.get(f"/prescriptions/{issued['id']}", headers=doctor.headers)).json()
    assert final["version"] == 2


async def test_the_compare_and_set_is_in_the_update_itself(world: World):
    """The repository's UPDATE refuses a stale version even when the caller did not check first."""
    doctor, patient = await world.doctor(), world.patient()
    issued = await world.issued(doctor, patient)
    prescription_id = uuid.UUID(issued["id"])
    async with world.app.state.db.transaction() as session:
        assert await repository.compare_and_set(session, prescription_id, 2, {"status": "stopped"}, utcnow()) is None
        updated = await repository.compare_and_set(session, prescription_id, 1, {"status": "stopped"}, utcnow())
        assert (updated.status, updated.version) == ("stopped", 2)


@pytest.mark.parametrize(
    "body",
    [
        {"version": 1, "medication": "Other"},
        {"version": 1, "dosage": "2 capsules"},
        {"version": 1, "frequency": "daily", "status": "active"},
        {"version": 1, "refills": 5},
        {"version": 1, "colour": "blue"},
        {"version": 1, "status": None},
        {"version": 1},
        {"status": "on-hold"},
        {"version": 0, "status": "on-hold"},
        {"version": 1, "status": "paused"},
    ],
    ids=[
        "medication",
        "dosage",
        "frequency",
        "refills",
        "unknown",
        "null-status",
        "nothing",
        "no-version",
        "v0",
        "bad",
    ],
)
async def test_immutable_unknown_and_malformed_fields_are_422(world: World, body):
    doctor, patient = await world.doctor(), world.patient()
    issued = await world.issued(doctor, patient)
    response = await put(world, doctor, issued["id"], body)
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"
    after = (await world.client.get(f"/prescriptions/{issued['id']}", headers=doctor.headers)).json()
    assert after == issued


async def test_an_immutable_field_says_how_to_change_it(world: World):
    doctor, patient = await world.doctor(), world.patient()
    issued = await world.issued(doctor, patient)
    response = await put(world, doctor, issued["id"], {"version": 1, "medication": "Other"})
    assert "cancel it and issue a new one" in response.text


async def test_who_may_change_a_prescription(world: World):
    doctor, other_doctor, patient = await world.doctor(), await world.doctor(), world.patient()
    issued = await world.issued(doctor, patient)
    body = {"version": 1, "status": "cancelled"}
    for caller, status, code in (
        (patient, 403, "FORBIDDEN"),
        (world.admin(), 403, "FORBIDDEN"),
        (other_doctor, 404, "NOT_FOUND"),
    ):
        response = await put(world, caller, issued["id"], body)
        assert (response.status_code, response.json()["code"]) == (status, code)
    missing = await put(world, doctor, uuid.uuid4(), body)
    assert (missing.status_code, missing.json()["code"]) == (404, "NOT_FOUND")
    unauthenticated = await world.client.put(f"/prescriptions/{issued['id']}", json=body)
    assert unauthenticated.status_code == 401
    after = (await world.client.get(f"/prescriptions/{issued['id']}", headers=doctor.headers)).json()
    assert (after["status"], after["version"]) == ("active", 1)
