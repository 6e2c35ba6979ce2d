"""Who touched which appointment: every read and write, allowed or denied, on every path, leaves one event."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from subgraphs.kit.audit import verify_chain
from subgraphs.kit.db import sync_url

from .conftest import AppointmentsApi, Caller, at, monday

APPOINTMENT = "query($id: ID!) { appointment(id: $id) { id reason notes } }"
LIST = "{ appointments { id } }"
ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Appointment { id reason } } }"
USER_APPOINTMENTS = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id appointments { id } } } }"
UPDATE = "mutation($id: ID!, $i: AppointmentUpdateInput!) { updateAppointment(id: $id, input: $i) { id } }"


async def events(api: AppointmentsApi) -> list[dict]:
    await api.app.state.audit.flush()
    rows, _total = await api.app.state.audit.search(limit=1000, offset=0)
    # Reads are written in batches after the fact; their time gives the order of events.
    return sorted(rows, key=lambda row: (row["occurred_at"], row["seq"]))


def about(trail: list[dict], resource_type: str = "appointment") -> list[tuple]:
    return [(e["action"], e["resource_id"], e["outcome"]) for e in trail if e["resource_type"] == resource_type]


async def booked_pair(api: AppointmentsApi) -> tuple[Caller, Caller, dict, dict]:
    doctor, profile = await api.doctor()
    patient = api.caller()
    first = await api.booked(patient, profile["id"], at(monday(), "10:00"), reason="Palpitations")
    second = await api.booked(patient, profile["id"], at(monday(), "11:00"), reason="Follow-up")
    return doctor, patient, first, second


async def test_every_read_and_write_leaves_one_event_with_who_what_whose(api: AppointmentsApi):
    doctor, patient, first, second = await booked_pair(api)
    headers = {**patient.headers, "x-request-id": "req-audit-read"}
    assert (await api.client.get(f"/appointments/{first['id']}", headers=headers)).status_code == 200
    listed = await api.client.get("/appointments", headers=patient.headers)
    assert listed.json()["total"] == 2
    changed = await api.client.put(
        f"/appointments/{first['id']}", json={"status": "arrived", "notes": "BP 120/80"}, headers=doctor.headers
    )
    assert changed.status_code == 200
    assert (await api.client.delete(f"/appointments/{second['id']}", headers=patient.headers)).status_code == 204
    assert "errors" not in await api.gql(APPOINTMENT, {"id": first["id"]}, patient)
    assert "errors" not in await api.gql(LIST, caller=doctor)

    trail = await events(api)
    assert about(trail) == [
        ("create", first["id"], "allowed"),
        ("create", second["id"], "allowed"),
        ("read", first["id"], "allowed"),
        # a list read: one event per appointment returned
        ("list", first["id"], "allowed"),
        ("list", second["id"], "allowed"),
        ("update", first["id"], "allowed"),
        ("cancel", second["id"], "allowed"),
        ("read", first["id"], "allowed"),
        ("list", first["id"], "allowed"),
        ("list", second["id"], "allowed"),
    ]
    assert about(trail, "doctor") == [("create", doctor.id, "allowed")]
    read = next(e for e in trail if e["action"] == "read")
    assert (str(read["actor_id"]), read["actor_role"]) == (patient.id, "patient")
    assert str(read["patient_id"]) == patient.id and read["request_id"] == "req-audit-read"
    update = next(e for e in trail if e["action"] == "update")
    assert (str(update["actor_id"]), update["actor_role"], str(update["patient_id"])) == (
        doctor.id,
        "doctor",
        patient.id,
    )
    # No clinical text, no token.
    flat = str(trail)
    assert "Palpitations" not in flat and "BP 120/80" not in flat and patient.token not in flat


async def test_a_denied_read_through_entities_is_recorded_and_shown_to_the_patient(api: AppointmentsApi):
    _doctor, patient, first, _second = await booked_pair(api)
    stranger, admin = api.caller(), api.caller("admin")
    result = await api.gql(ENTITIES, {"r": [{"__typename": "Appointment", "id": first["id"]}]}, stranger)
    assert result["data"]["_entities"] == [None]
    assert result["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # Nested lists show the stranger nothing of the patient's, and record nothing as read.
    nested = await api.gql(USER_APPOINTMENTS, {"r": [{"__typename": "User", "id": patient.id}]}, stranger)
    assert nested["data"]["_entities"] == [{"id": patient.id, "appointments": []}]

    trail = await events(api)
    denied = [e for e in trail if e["outcome"] == "denied"]
    assert [(e["action"], e["resource_id"], str(e["actor_id"]), str(e["patient_id"])) for e in denied] == [
        ("read", first["id"], stranger.id, patient.id)
    ]
    assert not [e for e in trail if str(e["actor_id"]) == stranger.id and e["outcome"] == "allowed"]

    # The patient sees who tried to read their appointment; the stranger sees nothing of it.
    mine = (await api.client.get("/audit", headers=patient.headers)).json()
    assert stranger.id in {e["actor_id"] for e in mine["items"]}
    assert all(e["patient_id"] == patient.id for e in mine["items"])
    theirs = (await api.client.get("/audit", params={"patient_id": patient.id}, headers=stranger.headers)).json()
    assert theirs["items"] == []
    everything = (await api.client.get("/audit", headers=admin.headers)).json()
    assert everything["total"] == len(trail)
    assert (await api.client.get("/audit")).status_code == 401


async def test_refused_writes_are_recorded_with_their_outcome_and_nothing_else(api: AppointmentsApi):
    doctor, patient, first, _second = await booked_pair(api)
    stranger = api.caller()
    # Not theirs (404), a field their role may not change (403), a rule (409).
    assert (await api.client.delete(f"/appointments/{first['id']}", headers=stranger.headers)).status_code == 404
    forbidden = await api.gql(UPDATE, {"id": first["id"], "i": {"notes": "x"}}, patient)
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    taken = await api.book(api.caller(), doctor.id, at(monday(), "10:00"))
    assert taken.status_code == 409

    trail = await events(api)
    refusals = [(e["action"], e["outcome"]) for e in trail if e["outcome"] != "allowed"]
    assert refusals == [("cancel", "denied"), ("update", "denied"), ("create", "refused")]
    cancel = next(e for e in trail if e["action"] == "cancel")
    assert (str(cancel["actor_id"]), str(cancel["patient_id"])) == (stranger.id, patient.id)
    # The refused writes changed nothing.
    assert await api.statuses() == ["booked", "booked"]


async def test_a_write_that_fails_leaves_no_event_and_no_row(api: AppointmentsApi, monkeypatch):
    _doctor, profile = await api.doctor()
    trail = api.app.state.audit

    async def fail(session, *_events):
        raise RuntimeError("audit store on fire")

    monkeypatch.setattr(trail, "append", fail)
    response = await api.book(api.caller(), profile["id"], at(monday(), "10:00"))
    assert response.status_code == 500
    monkeypatch.undo()
    assert await api.count() == 0
    assert [e["action"] for e in await events(api) if e["resource_type"] == "appointment"] == []


async def test_the_chain_holds_over_appointment_events(api: AppointmentsApi):
    _doctor, patient, first, _second = await booked_pair(api)
    await api.client.get(f"/appointments/{first['id']}", headers=patient.headers)
    total = len(await events(api))
    engine = create_engine(sync_url(api.db.url))
    try:
        with engine.connect() as connection:
            assert verify_chain(connection, "appointments") == (total, None)
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_postgres_refuses_to_change_appointment_events(api: AppointmentsApi):
    from sqlalchemy import text

    await api.doctor()
    engine = create_engine(sync_url(api.db.url))
    try:
        with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
            connection.execute(text("DELETE FROM appointments_audit_log"))
    finally:
        engine.dispose()
