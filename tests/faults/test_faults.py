"""Faults survived with nothing lost: a subgraph killed under load, the appointment service gone
while prescriptions are issued, PostgreSQL connections cut under load, the auth service down.

Load is a bounded number of requests from asyncio tasks (a few at a time), against loopback
ports only. Nothing waits on the clock: faults are triggered by counts of completed requests,
recovery is polled a bounded number of times.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.observability.live import Clinic, LiveStack, bearer, prescription_body
from tests.tokens import claims_for, forge, new_keys

from .consistency import audited, idempotency_statuses, rows, terminate_connections
from .results import counts, record

pytestmark = pytest.mark.e2e

CONCURRENCY = 6


async def run_load(
    jobs: list[Callable[[httpx.AsyncClient], Awaitable[object]]],
    *,
    fault_after: int,
    fault: Callable[[], object],
) -> list[object]:
    """Runs `jobs` a few at a time; `fault()` runs (in a thread) once `fault_after` have finished,
    while the others are still going. Returns each job's result, in order."""
    done = 0
    triggered = asyncio.Event()
    if fault_after <= 0:
        triggered.set()
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(client, job):
        nonlocal done
        async with gate:
            result = await job(client)
        done += 1
        if done == fault_after:
            triggered.set()
        return result

    async def injector():
        await triggered.wait()
        await asyncio.to_thread(fault)

    async with httpx.AsyncClient(timeout=30) as client:
        results = await asyncio.gather(*(one(client, job) for job in jobs), injector())
    return list(results[:-1])


def run_jobs(jobs: list[Callable[[httpx.AsyncClient], Awaitable[object]]]) -> list[object]:
    """Runs `jobs` a few at a time, no fault."""
    return asyncio.run(run_load(jobs, fault_after=0, fault=lambda: None))


def poll(check: Callable[[], object], attempts: int = 120, interval: float = 0.25):
    for _ in range(attempts):
        if answer := check():
            return answer
        time.sleep(interval)
    raise AssertionError(f"no recovery after {attempts} attempts")


def pids(stack: LiveStack) -> dict[str, int | None]:
    return {name: process.pid for name, process in stack.processes.items()} | {"router": stack.router.pid}


def logged(stack: LiveStack, name: str, mark: int) -> list[dict]:
    return [json.loads(line) for line in stack.processes[name].lines_since(mark) if line.startswith("{")]


# --- a subgraph killed under load -----------------------------------------------------------

DASHBOARD = """query Dashboard($id: ID!) {
  me { id fullName }
  appointments(limit: 5) { id status }
  prescription(id: $id) { id medication }
}"""


def test_a_subgraph_killed_under_load_fails_only_its_own_fields(fault_stack: LiveStack, clinic: Clinic):
    stack = fault_stack
    doctor, patient = clinic.doctor(), clinic.user()
    appointment = clinic.appointment(doctor, patient)
    issued = clinic.http.post(
        f"{stack.url('prescriptions')}/prescriptions", json=prescription_body(appointment), headers=doctor["headers"]
    )
    assert issued.status_code == 201
    prescription_id = issued.json()["id"]
    before = pids(stack)
    killed = False

    async def through_router(client: httpx.AsyncClient) -> str:
        response = await client.post(
            f"{stack.router_url}/graphql",
            json={"query": DASHBOARD, "variables": {"id": prescription_id}},
            headers={**patient["headers"], "content-type": "application/json"},
        )
        if response.status_code != 200:
            return f"router {response.status_code}"
        body = response.json()
        data = body.get("data") or {}
        complete = data.get("me", {}).get("id") == patient["id"] and data.get("appointments") is not None
        if complete and not body.get("errors") and data["prescription"]["id"] == prescription_id:
            return "router: full data"
        services = {error.get("extensions", {}).get("serviceName") for error in body.get("errors", [])}
        paths = {tuple(error.get("path") or ()) for error in body.get("errors", [])}
        if (
            complete
            and data.get("prescription") is None
            and services == {"prescriptions"}
            and paths <= {("prescription",)}
        ):
            return "router: partial (prescription null, prescriptions error)"
        return f"router: unexpected {json.dumps(body)[:300]}"

    def rest(service: str, path: str) -> Callable[[httpx.AsyncClient], Awaitable[str]]:
        async def call(client: httpx.AsyncClient) -> str:
            response = await client.get(f"{stack.url(service)}{path}", headers=patient["headers"])
            return f"{service} REST {response.status_code}"

        return call

    def kill() -> None:
        nonlocal killed
        stack.kill("prescriptions")
        killed = True

    jobs = [
        job
        for _ in range(30)
        for job in (through_router, rest("auth", "/users/profile"), rest("appointments", "/appointments"))
    ]
    outcomes = asyncio.run(run_load(jobs, fault_after=20, fault=kill))
    assert killed
    # After the kill, more of the same: every answer partial, the other services untouched.
    after = run_jobs([through_router] * 6 + [rest("auth", "/users/profile")] * 3)

    allowed = {
        "router: full data",
        "router: partial (prescription null, prescriptions error)",
        "auth REST 200",
        "appointments REST 200",
    }
    assert set(outcomes) <= allowed, counts(outcomes)
    assert set(after) == {"router: partial (prescription null, prescriptions error)", "auth REST 200"}, counts(after)

    stack.restart("prescriptions")
    poll(lambda: run_jobs([through_router]) == ["router: full data"])
    restarted = pids(stack)
    assert {k: v for k, v in restarted.items() if k != "prescriptions"} == {
        k: v for k, v in before.items() if k != "prescriptions"
    }, "something else was restarted"
    # Nothing lost: the prescription is there, once.
    stored = rows(
        stack.database_urls["prescriptions"],
        "SELECT id FROM prescriptions WHERE appointment_id = %s",
        (appointment["id"],),
    )
    assert [str(row[0]) for row in stored] == [prescription_id]
    record(
        "prescriptions subgraph SIGKILLed under load (90 router + REST requests, then 9 more), then restarted",
        f"{counts(outcomes + after)}; full data again after restart, no other process restarted",
        "nothing (the prescription row intact)",
    )


# --- the appointment service stopped while prescriptions are issued -------------------------


def test_appointment_service_down_while_issuing_gives_503s_and_no_partial_rows(fault_stack: LiveStack, clinic: Clinic):
    stack = fault_stack
    doctor, patient = clinic.doctor(), clinic.user()
    eligible = [clinic.appointment(doctor, patient) for _ in range(18)]
    ineligible = [clinic.appointment(doctor, patient, "booked") for _ in range(4)]
    requests = [(appointment, True) for appointment in eligible] + [(appointment, False) for appointment in ineligible]
    requests = [requests[i] for i in sorted(range(len(requests)), key=lambda i: (i * 7) % len(requests))]
    keys = {appointment["id"]: f"fault-b-{uuid.uuid4().hex}" for appointment, _ in requests}
    url = f"{stack.url('prescriptions')}/prescriptions"
    first_answers: dict[str, httpx.Response] = {}

    def issue(appointment: dict) -> Callable[[httpx.AsyncClient], Awaitable[int]]:
        async def call(client: httpx.AsyncClient) -> int:
            response = await client.post(
                url,
                json=prescription_body(appointment),
                headers={**doctor["headers"], "idempotency-key": keys[appointment["id"]]},
            )
            first_answers[appointment["id"]] = response
            return response.status_code

        return call

    statuses = asyncio.run(
        run_load([issue(a) for a, _ in requests], fault_after=6, fault=lambda: stack.kill("appointments"))
    )
    for (appointment, ok), status in zip(requests, statuses, strict=True):
        assert status in ({201, 503} if ok else {409, 503}), (status, first_answers[appointment["id"]].text)
    assert 503 in statuses
    unavailable = [first_answers[a["id"]] for a, _ in requests if first_answers[a["id"]].status_code == 503]
    assert all(r.json()["code"] == "DEPENDENCY_UNAVAILABLE" for r in unavailable)
    fast = sum(1 for r in unavailable if "retry-after" in r.headers)  # refused by the open breaker
    # While it is down, a 503 wrote nothing at all.
    db = stack.database_urls["prescriptions"]
    down_ids = {a["id"] for a, _ in requests if first_answers[a["id"]].status_code == 503}
    assert not rows(db, "SELECT id FROM prescriptions WHERE appointment_id::text = ANY(%s)", (list(down_ids),))

    # Back again: the same requests, same keys, until each has its final answer.
    stack.restart("appointments")
    finals: dict[str, httpx.Response] = {}
    with httpx.Client(timeout=30) as client:
        for appointment, _ok in requests:
            headers = {**doctor["headers"], "idempotency-key": keys[appointment["id"]]}

            def settled(appointment=appointment, headers=headers):
                response = client.post(url, json=prescription_body(appointment), headers=headers)
                return response if response.status_code != 503 else None

            finals[appointment["id"]] = poll(settled, attempts=60, interval=0.25)

    # Consistency: one row per eligible appointment, none for the others; each with its audit
    # event and its stored answer; every 201 a client saw is a row.
    stored = dict(rows(db, "SELECT appointment_id::text, count(*) FROM prescriptions GROUP BY appointment_id"))
    assert {a["id"]: stored.get(a["id"], 0) for a, _ in requests} == {a["id"]: 1 if ok else 0 for a, ok in requests}
    for appointment, ok in requests:
        final = finals[appointment["id"]]
        assert final.status_code == (201 if ok else 409), final.text
        first = first_answers[appointment["id"]]
        if first.status_code == 201:
            assert final.json()["id"] == first.json()["id"] and final.headers.get("idempotent-replayed") == "true"
    ids = {str(row[0]) for row in rows(db, "SELECT id FROM prescriptions WHERE doctor_id = %s", (doctor["id"],))}
    assert ids == {finals[a["id"]].json()["id"] for a, ok in requests if ok}
    missing_audit = ids - audited(db, "prescriptions", "prescription")
    assert not missing_audit
    stored_keys = idempotency_statuses(db, "prescriptions")
    assert {stored_keys.get(keys[a["id"]]) for a, ok in requests} <= {201, 409}
    assert None not in stored_keys.values()
    replayed = sum(1 for a, _ in requests if finals[a["id"]].headers.get("idempotent-replayed") == "true")
    record(
        f"appointment service SIGKILLed while {len(requests)} prescriptions were being issued, then restarted",
        f"first answers {counts(statuses)} (every 503 DEPENDENCY_UNAVAILABLE; {fast} of them refused at once by the "
        f"open breaker, with Retry-After); the same requests retried with their keys after restart: "
        f"{counts(f.status_code for f in finals.values())} ({replayed} replays of a first 201/409)",
        "nothing: one row per eligible appointment, none for the ineligible, none for any 503, "
        "every row with its audit event and stored answer",
    )


# --- PostgreSQL connections cut under load --------------------------------------------------


def test_database_connections_cut_under_load_fail_cleanly_and_recover(fault_stack: LiveStack, clinic: Clinic):
    stack = fault_stack
    doctor = clinic.doctor()
    patients = [clinic.user() for _ in range(3)]
    db = stack.database_urls["appointments"]
    url = f"{stack.url('appointments')}/appointments"
    bookings = []
    for number in range(36):
        patient = patients[number % len(patients)]
        body = {"doctor_id": doctor["id"], "starts_at": clinic.next_slot().isoformat()}
        bookings.append((patient, body, f"fault-c-{uuid.uuid4().hex}"))
    answers: dict[str, httpx.Response] = {}
    cuts: list[int] = []
    mark = stack.processes["appointments"].mark()

    def book(patient: dict, body: dict, key: str) -> Callable[[httpx.AsyncClient], Awaitable[int]]:
        async def call(client: httpx.AsyncClient) -> int:
            response = await client.post(url, json=body, headers={**patient["headers"], "idempotency-key": key})
            answers[key] = response
            return response.status_code

        return call

    def read(patient: dict) -> Callable[[httpx.AsyncClient], Awaitable[int]]:
        async def call(client: httpx.AsyncClient) -> int:
            response = await client.get(url, headers=patient["headers"])
            assert "Traceback" not in response.text
            return response.status_code

        return call

    jobs: list = []
    for number, booking in enumerate(bookings):
        jobs.append(book(*booking))
        if number % 2:
            jobs.append(read(booking[0]))

    async def load_with_cuts() -> list[object]:
        # Three cuts, at three points of the load.
        results = []
        for part in (jobs[:18], jobs[18:36], jobs[36:]):
            results += await run_load(part, fault_after=3, fault=lambda: cuts.append(terminate_connections(db)))
        return results

    statuses = asyncio.run(load_with_cuts())

    assert set(statuses) <= {200, 201, 503}, counts(statuses)
    assert sum(cuts) > 0
    for response in answers.values():
        if response.status_code == 503:
            assert response.json()["code"] == "DEPENDENCY_UNAVAILABLE", response.text
    lines = logged(stack, "appointments", mark)
    assert not [entry for entry in lines if entry.get("msg", "").startswith("unhandled error")]
    assert not [
        entry
        for entry in lines
        if entry.get("logger") == "access" and entry.get("status", 0) >= 500 and entry["status"] != 503
    ]

    # Recovered by itself; the bookings that got 503 are retried with their keys.
    poll(lambda: httpx.get(f"{stack.url('appointments')}/ready").status_code == 200)
    finals = {}
    with httpx.Client(timeout=30) as client:
        for patient, body, key in bookings:
            response = answers[key]
            if response.status_code == 503:
                response = client.post(url, json=body, headers={**patient["headers"], "idempotency-key": key})
            finals[key] = response
    assert {response.status_code for response in finals.values()} == {201}, counts(
        r.status_code for r in finals.values()
    )

    # Consistency: every booking a client was told about is there, once, with its audit event.
    ids = {response.json()["id"] for response in finals.values()}
    stored = {str(row[0]) for row in rows(db, "SELECT id FROM appointments WHERE doctor_id = %s", (doctor["id"],))}
    assert stored == ids and len(ids) == len(bookings)
    assert not ids - audited(db, "appointments", "appointment")
    assert None not in idempotency_statuses(db, "appointments").values()
    retried = sum(1 for key in finals if answers[key].status_code == 503)
    record(
        f"PostgreSQL connections of the appointment service terminated 3 times under load ({len(jobs)} requests)",
        f"{counts(statuses)}; never a 500; /ready back to 200 without a restart; {retried} bookings retried with "
        "their Idempotency-Key: all 201",
        "nothing: every booking once, each with its audit event; no idempotency key left unanswered",
    )


# --- the auth service down ------------------------------------------------------------------


def test_with_auth_down_tokens_still_verify_from_cached_keys(fault_stack: LiveStack, clinic: Clinic):
    stack = fault_stack
    doctor = clinic.doctor()
    known, fresh = clinic.user(), clinic.user()
    appointments, prescriptions = stack.url("appointments"), stack.url("prescriptions")
    # Both services have fetched the keys (any token they verified did that).
    assert httpx.get(f"{appointments}/appointments", headers=known["headers"]).status_code == 200
    assert httpx.get(f"{prescriptions}/prescriptions", headers=known["headers"]).status_code == 200
    intruder_keys = new_keys()
    unknown_key = forge(intruder_keys, claims_for(uuid.uuid4(), "admin"))

    stack.kill("auth")
    seen = []
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"{stack.url('auth')}/auth/login", json={"email": known["email"], "password": "x"})
    for service, user in ((appointments, known), (appointments, fresh), (prescriptions, fresh)):
        path = "/appointments" if service == appointments else "/prescriptions"
        response = httpx.get(f"{service}{path}", headers=user["headers"])
        seen.append(f"GET {path} ({'known' if user is known else 'never-checked'} token) {response.status_code}")
        assert response.status_code == 200, response.text
    # A write while auth is down, by a token whose account was never checked here (fails open).
    booking = httpx.post(
        f"{appointments}/appointments",
        json={"doctor_id": doctor["id"], "starts_at": clinic.next_slot().isoformat()},
        headers={**fresh["headers"], "idempotency-key": f"fault-d-{uuid.uuid4().hex}"},
    )
    seen.append(f"POST /appointments {booking.status_code}")
    assert booking.status_code == 201, booking.text
    # A key nobody published is refused: the keys cannot be refetched, and nothing is trusted blindly.
    intruder = httpx.get(f"{appointments}/appointments", headers=bearer(unknown_key))
    seen.append(f"token signed by an unknown key {intruder.status_code}")
    assert intruder.status_code == 401
    body = stack.graphql("query MeAndMine { me { id } appointments { id } }", token=fresh["token"]).json()
    assert body["data"]["me"] is None and len(body["data"]["appointments"]) == 1
    assert {error["extensions"]["serviceName"] for error in body["errors"]} == {"auth"}
    seen.append("router: `appointments` data with `me` null and an auth error")

    stack.restart("auth")
    poll(lambda: not stack.graphql("query Me { me { id } }", token=fresh["token"]).json().get("errors"))
    assert clinic.user()["token"]  # sign-up and login work again
    db = stack.database_urls["appointments"]
    assert [str(row[0]) for row in rows(db, "SELECT id FROM appointments WHERE id = %s", (booking.json()["id"],))]
    assert booking.json()["id"] in audited(db, "appointments", "appointment")
    record(
        "auth service SIGKILLed, then restarted",
        "; ".join(seen) + "; `me` back after restart",
        "nothing (the booking made during the outage is stored with its audit event)",
    )
