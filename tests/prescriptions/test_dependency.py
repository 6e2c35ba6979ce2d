"""The appointment service down, hanging, failing and coming back: 503, nothing written, the breaker.

Everything runs on 127.0.0.1. Attempts are counted (the client's counter, the
requests a loopback server received), never timed; the breaker's cool-down is
crossed by moving an injected clock.
"""

from __future__ import annotations

from subgraphs.kit.service_client import BreakerState
from subgraphs.prescriptions.orm import idempotency_keys

from .conftest import World
from .loopback import RealServer, StubAppointments, closed_port


def problem_code(response) -> str:
    return response.json()["code"]


async def idempotency_rows(world: World) -> int:
    from sqlalchemy import func, select

    async with world.app.state.db.session() as session:
        return await session.scalar(select(func.count()).select_from(idempotency_keys))


async def test_a_closed_port_is_503_after_bounded_retries_and_nothing_is_written(make_world):
    url = f"http://127.0.0.1:{closed_port()}"
    async with make_world(appointment_service_url=url, appointment_retries=2) as world:
        doctor = world.signed_in("doctor")
        client = world.app.state.appointment_client
        response = await world.issue(doctor, "6f1b7c1e-0000-4000-8000-000000000001")
        assert response.status_code == 503
        assert problem_code(response) == "DEPENDENCY_UNAVAILABLE"
        assert client.attempts == 3  # the first try and two retries, then it gave up
        assert await world.count_rows() == 0


async def test_an_unavailable_dependency_is_not_stored_under_an_idempotency_key(make_world):
    url = f"http://127.0.0.1:{closed_port()}"
    async with make_world(appointment_service_url=url) as world:
        doctor = world.signed_in("doctor")
        response = await world.issue(doctor, "6f1b7c1e-0000-4000-8000-000000000002", headers={"idempotency-key": "k1"})
        assert response.status_code == 503
        # Nothing was decided, so the same key may be used again once the service is back.
        assert await idempotency_rows(world) == 0
        assert await world.count_rows() == 0


async def test_the_breaker_opens_on_a_closed_port_and_then_fails_fast(make_world):
    url = f"http://127.0.0.1:{closed_port()}"
    async with make_world(appointment_service_url=url, appointment_retries=1, appointment_breaker_threshold=3) as world:
        doctor = world.signed_in("doctor")
        client = world.app.state.appointment_client
        for _ in range(3):
            assert (await world.issue(doctor, "6f1b7c1e-0000-4000-8000-000000000003")).status_code == 503
        assert client.breaker.state is BreakerState.OPEN
        assert client.attempts == 6
        fast = await world.issue(doctor, "6f1b7c1e-0000-4000-8000-000000000003")
        assert fast.status_code == 503 and problem_code(fast) == "DEPENDENCY_UNAVAILABLE"
        assert int(fast.headers["retry-after"]) >= 1
        assert client.attempts == 6  # no connection was even tried
        assert client.breaker.rejected == 1


async def test_a_hanging_service_is_503_within_one_timeout_then_the_breaker_opens(make_world):
    async with (
        StubAppointments("hang") as stub,
        make_world(
            appointment_service_url=stub.url,
            appointment_timeout=0.2,
            appointment_retries=2,
            appointment_breaker_threshold=2,
        ) as world,
    ):
        doctor = world.signed_in("doctor")
        first = await world.issue(doctor, "6f1b7c1e-0000-4000-8000-000000000004")
        assert first.status_code == 503 and problem_code(first) == "DEPENDENCY_UNAVAILABLE"
        # A timeout is not retried: the caller waited for one attempt, not three.
        assert len(stub.requests) == 1
        assert world.app.state.appointment_client.attempts == 1
        assert (await world.issue(doctor, "6f1b7c1e-0000-4000-8000-000000000004")).status_code == 503
        assert len(stub.requests) == 2
        assert world.app.state.appointment_client.breaker.state is BreakerState.OPEN
        assert (await world.issue(doctor, "6f1b7c1e-0000-4000-8000-000000000004")).status_code == 503
        assert len(stub.requests) == 2  # failed fast: the hanging service never saw it
        assert await world.count_rows() == 0


async def test_500s_are_retried_open_the_breaker_and_a_probe_after_the_cooldown_closes_it(make_world):
    async with (
        StubAppointments("500") as stub,
        make_world(
            appointment_service_url=stub.url,
            appointment_retries=2,
            appointment_breaker_threshold=3,
            appointment_breaker_cooldown=30,
        ) as world,
    ):
        doctor = world.signed_in("doctor")
        appointment_id = "6f1b7c1e-0000-4000-8000-000000000005"
        breaker = world.app.state.appointment_client.breaker
        for _ in range(3):
            response = await world.issue(doctor, appointment_id)
            assert response.status_code == 503 and problem_code(response) == "DEPENDENCY_UNAVAILABLE"
        assert len(stub.requests) == 9  # three calls, three attempts each
        assert breaker.state is BreakerState.OPEN

        assert (await world.issue(doctor, appointment_id)).status_code == 503
        assert len(stub.requests) == 9
        assert await world.count_rows() == 0

        # The service recovers, but the breaker keeps failing fast until the cool-down is over.
        stub.mode, stub.doctor_id = "ok", doctor.id
        world.clock.advance(29)
        assert (await world.issue(doctor, appointment_id)).status_code == 503
        assert len(stub.requests) == 9
        world.clock.advance(1)
        recovered = await world.issue(doctor, appointment_id, headers={"x-request-id": "trace-probe"})
        assert recovered.status_code == 201, recovered.text
        assert recovered.json()["patient_id"] == str(stub.patient_id)
        assert len(stub.requests) == 10
        assert breaker.state is BreakerState.CLOSED
        assert await world.count_rows() == 1

        # What the appointment service received: its path, the caller's own token, the request id.
        seen = stub.requests[-1]
        assert (seen["method"], seen["path"]) == ("GET", f"/appointments/{appointment_id}")
        assert seen["authorization"] == f"Bearer {doctor.token}"
        assert seen["x-request-id"] == "trace-probe"


async def test_a_real_appointment_service_started_then_stopped(make_world, appointments_app):
    server = RealServer(appointments_app)
    server.start()
    try:
        async with make_world(appointment_service_url=server.url, appointment_retries=1) as world:
            doctor, patient = await world.doctor(), world.patient()
            appointment = await world.appointment(doctor, patient, "arrived")
            issued = await world.issue(doctor, appointment["id"])
            assert issued.status_code == 201, issued.text
            client = world.app.state.appointment_client
            assert client.attempts == 1

            await server.stop()
            down = await world.issue(doctor, appointment["id"])
            assert down.status_code == 503 and problem_code(down) == "DEPENDENCY_UNAVAILABLE"
            assert client.attempts == 3  # one try, one retry, over real sockets
            assert await world.count_rows() == 1  # only the first
    finally:
        await server.stop()


async def test_the_mutation_is_503_too_and_writes_nothing(make_world):
    url = f"http://127.0.0.1:{closed_port()}"
    async with make_world(appointment_service_url=url) as world:
        doctor = world.signed_in("doctor")
        result = await world.gql(
            "mutation($i: IssuePrescriptionInput!) { issuePrescription(input: $i) { id } }",
            {
                "i": {
                    "appointmentId": "6f1b7c1e-0000-4000-8000-000000000006",
                    "medication": "X",
                    "dosage": "1",
                    "frequency": "daily",
                }
            },
            user=doctor,
        )
        assert result["data"] == {"issuePrescription": None}
        assert result["errors"][0]["extensions"]["code"] == "DEPENDENCY_UNAVAILABLE"
        assert await world.count_rows() == 0


async def test_the_shared_client_is_closed_on_shutdown(make_world):
    async with make_world() as world:
        client = world.app.state.appointment_client
    assert client._client.is_closed
