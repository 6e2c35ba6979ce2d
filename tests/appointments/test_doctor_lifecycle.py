"""A doctor out of service (deactivated, or no longer a doctor) leaves the directory and takes no
bookings, within ACCOUNT_RECHECK_SECONDS; their appointments stay readable with who the doctor was.

The appointment service learns it from the auth service's roster of active doctors
(doctors/roster.py), asked over the real app here, on a clock the test moves.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from subgraphs.appointments.doctors.roster import DoctorRoster
from subgraphs.kit.service_client import ServiceClient

from ..conftest import SqlCounter
from ..lifecycle import Clock, checked_system
from ..system import System

_days = itertools.count(200)

DIRECTORY = "{ doctors(limit: 100) { id displayName } }"
ONE_DOCTOR = "query($id: ID!) { doctor(id: $id) { id } }"
BOOK = "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }"
MOVE = "mutation($id: ID!, $i: AppointmentUpdateInput!) { updateAppointment(id: $id, input: $i) { id } }"
WITH_DOCTOR = "query($id: ID!) { appointment(id: $id) { id doctor { id displayName specialty } } }"


@pytest.fixture
async def checked(database_for, tmp_path):
    async with checked_system(database_for, tmp_path) as pair:
        yield pair


def slot() -> str:
    day = datetime.now(UTC).date() + timedelta(days=next(_days))
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC).isoformat()


async def listed(system: System, caller: dict) -> set[str]:
    response = await system.appointments.get("/doctors", params={"limit": 100}, headers=caller["headers"])
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == len(page["items"])
    rest = {doctor["id"] for doctor in page["items"]}
    graphql = {doctor["id"] for doctor in (await system.gql("appointments", DIRECTORY, user=caller))["data"]["doctors"]}
    assert rest == graphql
    return rest


async def change(system: System, admin: dict, user_id: str, **fields) -> None:
    response = await system.admin.patch(f"/admin/users/{user_id}", json=fields, headers=admin["headers"])
    assert response.status_code == 200, response.text


async def assert_out_of_service(system: System, patient: dict, doctor: dict, booked: dict) -> None:
    assert doctor["id"] not in await listed(system, patient)
    one = await system.appointments.get(f"/doctors/{doctor['id']}", headers=patient["headers"])
    assert one.status_code == 404
    found = await system.gql("appointments", ONE_DOCTOR, {"id": doctor["id"]}, user=patient)
    assert found["errors"][0]["extensions"]["code"] == "NOT_FOUND"

    before = (await system.appointments.get("/appointments", headers=patient["headers"])).json()["total"]
    body = {"doctor_id": doctor["id"], "starts_at": slot()}
    for headers in (patient["headers"], {**patient["headers"], "idempotency-key": f"k-{next(_days)}"}):
        refused = await system.appointments.post("/appointments", json=body, headers=headers)
        assert refused.status_code == 409 and refused.json()["code"] == "DOCTOR_UNAVAILABLE", refused.text
    booking = await system.gql(
        "appointments", BOOK, {"i": {"doctorId": doctor["id"], "startsAt": slot()}}, user=patient
    )
    assert booking["errors"][0]["extensions"]["code"] == "DOCTOR_UNAVAILABLE"
    moved = await system.appointments.put(
        f"/appointments/{booked['id']}", json={"starts_at": slot()}, headers=patient["headers"]
    )
    assert moved.status_code == 409 and moved.json()["code"] == "DOCTOR_UNAVAILABLE"
    moved = await system.gql("appointments", MOVE, {"id": booked["id"], "i": {"startsAt": slot()}}, user=patient)
    assert moved["errors"][0]["extensions"]["code"] == "DOCTOR_UNAVAILABLE"
    after = (await system.appointments.get("/appointments", headers=patient["headers"])).json()["total"]
    assert after == before

    # Their appointments stay readable, with who the doctor was.
    shown = await system.gql("appointments", WITH_DOCTOR, {"id": booked["id"]}, user=patient)
    assert shown["data"]["appointment"]["doctor"] == {
        "id": doctor["id"],
        "displayName": "Dr Test",
        "specialty": "general practice",
    }
    read = await system.appointments.get(f"/appointments/{booked['id']}", headers=patient["headers"])
    assert read.status_code == 200 and read.json()["starts_at"] == booked["starts_at"]


@pytest.mark.parametrize("leaves", [{"is_active": False}, {"role": "patient"}], ids=["deactivated", "demoted"])
async def test_a_doctor_out_of_service_leaves_the_directory_and_comes_back(checked: tuple[System, Clock], leaves):
    system, clock = checked
    admin, patient = await system.user("admin"), await system.user("patient")
    doctor, colleague = await system.doctor(), await system.doctor()
    booked = await system.appointment(doctor, patient)
    assert {doctor["id"], colleague["id"]} <= await listed(system, patient)

    await change(system, admin, doctor["id"], **leaves)
    clock.past_the_recheck()
    await assert_out_of_service(system, patient, doctor, booked)
    assert colleague["id"] in await listed(system, patient)
    # A cancellation still goes through: it takes no new time.
    cancelled = await system.appointments.delete(f"/appointments/{booked['id']}", headers=patient["headers"])
    assert cancelled.status_code == 204, cancelled.text
    read = await system.appointments.get(f"/appointments/{booked['id']}", headers=patient["headers"])
    assert read.json()["status"] == "cancelled"

    back = {"is_active": True} if "is_active" in leaves else {"role": "doctor"}
    await change(system, admin, doctor["id"], **back)
    clock.past_the_recheck()
    assert doctor["id"] in await listed(system, patient)
    assert (await system.appointments.get(f"/doctors/{doctor['id']}", headers=patient["headers"])).status_code == 200
    rebooked = await system.appointments.post(
        "/appointments", json={"doctor_id": doctor["id"], "starts_at": slot()}, headers=patient["headers"]
    )
    assert rebooked.status_code == 201, rebooked.text


async def test_within_the_recheck_the_last_answer_stands(checked: tuple[System, Clock]):
    system, clock = checked
    admin, patient, doctor = await system.user("admin"), await system.user("patient"), await system.doctor()
    assert doctor["id"] in await listed(system, patient)
    roster = system.apps["appointments"].state.doctor_roster
    questions = roster.questions
    await change(system, admin, doctor["id"], is_active=False)
    clock.now += 10
    assert doctor["id"] in await listed(system, patient)
    assert roster.questions == questions  # nothing asked of auth within the period
    clock.now += 21
    assert doctor["id"] not in await listed(system, patient)
    assert roster.questions == questions + 1


async def test_a_new_doctor_is_listed_and_bookable_at_once(checked: tuple[System, Clock]):
    """A profile made since the roster's last answer is listed: only a checked doctor makes one."""
    system, _clock = checked
    patient = await system.user("patient")
    await listed(system, patient)  # the roster has answered
    newcomer = await system.doctor()
    assert newcomer["id"] in await listed(system, patient)
    booked = await system.appointments.post(
        "/appointments", json={"doctor_id": newcomer["id"], "starts_at": slot()}, headers=patient["headers"]
    )
    assert booked.status_code == 201, booked.text


async def test_the_directory_runs_the_same_statements_whatever_the_roster(checked: tuple[System, Clock]):
    system, clock = checked
    admin, patient = await system.user("admin"), await system.user("patient")
    doctors = [await system.doctor() for _ in range(2)]
    await listed(system, patient)
    sql = SqlCounter(system.apps["appointments"].state.db.engine)
    counts = []
    for _ in range(2):
        sql.reset()
        await system.appointments.get("/doctors", headers=patient["headers"])
        counts.append(sql.count)
        doctors += [await system.doctor() for _ in range(4)]
        await change(system, admin, doctors[0]["id"], is_active=False)
        clock.past_the_recheck()
    assert counts == [2, 2]  # the page and its total, however many doctors are in or out of service


async def test_the_roster_keeps_its_last_answer_while_auth_cannot_answer():
    """Auth down: the last answer stands; with none yet every profile is listed (None)."""
    answers = [httpx.Response(200, json={"doctor_ids": ["00000000-0000-0000-0000-000000000001"]})]
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers.get("x-router-secret"))
        return answers.pop(0) if answers else httpx.Response(503)

    clock = Clock()
    client = ServiceClient("auth", "http://auth", retries=0, transport=httpx.MockTransport(handler))
    roster = DoctorRoster(client, headers={"x-router-secret": "s"}, recheck_seconds=30, clock=clock)
    first = await roster.listing()
    assert {str(doctor_id) for doctor_id in first.doctor_ids} == {"00000000-0000-0000-0000-000000000001"}
    clock.past_the_recheck()
    assert await roster.listing() is first
    assert calls == ["s", "s"]
    await client.aclose()

    down = ServiceClient(
        "auth", "http://auth", retries=0, transport=httpx.MockTransport(lambda _r: httpx.Response(503))
    )
    assert await DoctorRoster(down, headers={}, recheck_seconds=30, clock=clock).listing() is None
    await down.aclose()
