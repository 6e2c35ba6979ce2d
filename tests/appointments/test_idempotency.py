"""`Idempotency-Key` on POST /appointments: one booking per key, the first response replayed."""

from __future__ import annotations

import asyncio

import pytest

from subgraphs.kit.idempotency import IdempotentWrites

from .conftest import AppointmentsApi, at, iso, monday


async def post(api: AppointmentsApi, caller, body: dict, key: str | None):
    headers = {**caller.headers, **({"Idempotency-Key": key} if key else {})}
    return await api.client.post("/appointments", json=body, headers=headers)


@pytest.fixture
async def slot(api: AppointmentsApi) -> dict:
    _doctor, profile = await api.doctor()
    return {"doctor_id": profile["id"], "starts_at": iso(at(monday(), "10:00")), "reason": "Check-up"}


async def test_replay_returns_the_first_response_and_books_nothing(api: AppointmentsApi, slot):
    patient = api.caller()
    first = await post(api, patient, slot, "key-1")
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    # Same meaning, other spelling: key order and the offset of the start do not matter.
    respelled = {
        "reason": "Check-up",
        "starts_at": slot["starts_at"].replace("Z", "+00:00"),
        "doctor_id": slot["doctor_id"],
    }
    replay = await post(api, patient, respelled, "key-1")
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert await api.count() == 1


async def test_same_key_with_another_body_is_422(api: AppointmentsApi, slot):
    patient = api.caller()
    assert (await post(api, patient, slot, "key-2")).status_code == 201
    other = await post(api, patient, {**slot, "reason": "Something else"}, "key-2")
    assert other.status_code == 422
    assert other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await api.count() == 1


async def test_a_refusal_is_replayed_too(api: AppointmentsApi, slot):
    """A retry after a 409 sees the same 409 even once the slot is free: the key names one attempt."""
    holder = api.caller()
    held = await api.booked(holder, slot["doctor_id"], at(monday(), "10:00"))
    patient = api.caller()
    first = await post(api, patient, slot, "key-3")
    assert first.status_code == 409 and first.json()["code"] == "SLOT_TAKEN"
    await api.client.delete(f"/appointments/{held['id']}", headers=holder.headers)
    replay = await post(api, patient, slot, "key-3")
    assert replay.status_code == 409
    assert replay.headers["content-type"] == "application/problem+json"
    assert replay.json() == first.json()
    fresh = await post(api, patient, slot, "key-4")
    assert fresh.status_code == 201


async def test_keys_belong_to_their_caller(api: AppointmentsApi, slot):
    first = await post(api, api.caller(), slot, "shared-key")
    assert first.status_code == 201
    second = await post(api, api.caller(), slot, "shared-key")
    # Another user's key is another key: this is a real second booking attempt.
    assert second.status_code == 409 and second.json()["code"] == "SLOT_TAKEN"


async def test_concurrent_requests_with_one_key_book_once(api: AppointmentsApi, slot):
    patient = api.caller()
    responses = await asyncio.gather(*(post(api, patient, slot, "key-race") for _ in range(8)))
    assert [r.status_code for r in responses] == [201] * 8, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 7
    assert await api.count() == 1


@pytest.mark.parametrize("key", [b"has space", b"x" * 256, b"tab\there", "é".encode()])
async def test_malformed_keys_are_422(api: AppointmentsApi, slot, key):
    response = await api.client.post(
        "/appointments", json=slot, headers={**api.caller().headers, "Idempotency-Key": key}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert await api.count() == 0


async def test_an_expired_key_runs_again(api: AppointmentsApi, slot):
    patient = api.caller()
    first = await post(api, patient, slot, "key-old")
    assert first.status_code == 201
    writes: IdempotentWrites = api.app.state.appointments.idempotency
    real_clock = writes.clock
    writes.clock = lambda: real_clock() + writes.ttl * 2
    try:
        again = await post(api, patient, slot, "key-old")
    finally:
        writes.clock = real_clock
    # It ran again (no replay), and found its own earlier booking in the way.
    assert again.status_code == 409 and again.json()["code"] == "SLOT_TAKEN"
    assert "idempotent-replayed" not in again.headers
    assert await api.count() == 1
