"""A doctor sees a patient's profile once the appointment service says the patient is in their care.

Both services run in process: the auth service asks the real appointments app
through `httpx.ASGITransport`, exactly as it would over the network.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from subgraphs.appointments.app import MIGRATIONS as APPOINTMENT_MIGRATIONS
from subgraphs.appointments.app import create_app as create_appointments_app
from subgraphs.appointments.config import AppointmentSettings
from subgraphs.auth.app import MIGRATIONS, create_app, load_keys
from subgraphs.auth.users.care_http import HttpCareRelationships
from subgraphs.kit.jwt import StaticKeys
from subgraphs.kit.settings import DEV_ROUTER_SECRET

from ..conftest import running
from .conftest import AuthApi, auth_settings

USER = "query($id: ID!) { user(id: $id) { id fullName phone } }"
ENTITIES = """
query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id phone } } }
"""


class Switchable(httpx.AsyncBaseTransport):
    """The appointments app, or (once `down`) a network that refuses every connection."""

    def __init__(self, app) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.down = False
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


class Stack:
    def __init__(self, auth: AuthApi, appointments: httpx.AsyncClient, transport: Switchable) -> None:
        self.auth = auth
        self.appointments = appointments
        self.transport = transport

    async def doctor_with_profile(self) -> tuple[dict, str]:
        doctor, token = await self.auth.user_with_token("doctor")
        hours = [{"weekday": day, "start": "00:00", "end": "23:59"} for day in range(7)]
        response = await self.appointments.post(
            "/doctors/profile",
            json={"display_name": "Dr. Care", "specialty": "GP", "license_number": "L1", "working_hours": hours},
            headers=self.auth.bearer(token),
        )
        assert response.status_code == 201, response.text
        return doctor, token

    async def book(self, patient_token: str, doctor_id: str) -> dict:
        starts = (datetime.now(UTC) + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
        response = await self.appointments.post(
            "/appointments",
            json={"doctor_id": doctor_id, "starts_at": starts.isoformat()},
            headers=self.auth.bearer(patient_token),
        )
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture
async def stack(database_for, tmp_path):
    settings = auth_settings(database_for("auth", MIGRATIONS), tmp_path / "auth")
    keys = load_keys(settings)  # the auth app below reads the same keys from the same directory
    appointments_app = create_appointments_app(
        AppointmentSettings(database_url=database_for("appointments", APPOINTMENT_MIGRATIONS)),
        key_source=StaticKeys(keys.public_keys),
    )
    transport = Switchable(appointments_app)
    care = HttpCareRelationships(
        "http://appointments", router_secret=DEV_ROUTER_SECRET, secret_header="x-router-secret", transport=transport
    )
    auth_app = create_app(settings, care=care)
    async for appointments in running(appointments_app):
        async for auth_client in running(auth_app):
            yield Stack(AuthApi(auth_client, auth_app), appointments, transport)
    await care.aclose()


async def visible(stack: Stack, token: str, user_id: str) -> dict | None:
    result = await stack.auth.gql(USER, {"id": user_id}, token=token)
    entities = await stack.auth.gql(ENTITIES, {"reps": [{"__typename": "User", "id": user_id}]}, token=token)
    # Both paths must agree, whatever the answer.
    assert (result["data"]["user"] is None) == (entities["data"]["_entities"][0] is None)
    if result["data"]["user"] is None:
        assert result["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    return result["data"]["user"]


async def test_doctor_sees_a_patient_only_after_an_appointment(stack: Stack):
    doctor, doctor_token = await stack.doctor_with_profile()
    patient, patient_token = await stack.auth.user_with_token(phone="+44 20 7946 0001")
    assert await visible(stack, doctor_token, patient["id"]) is None

    appointment = await stack.book(patient_token, doctor["id"])
    seen = await visible(stack, doctor_token, patient["id"])
    assert seen == {"id": patient["id"], "fullName": patient["full_name"], "phone": "+44 20 7946 0001"}

    # Another doctor has no such relationship.
    _other, other_token = await stack.doctor_with_profile()
    assert await visible(stack, other_token, patient["id"]) is None

    # "Has or had": a cancelled appointment still counts.
    cancelled = await stack.appointments.delete(
        f"/appointments/{appointment['id']}", headers=stack.auth.bearer(patient_token)
    )
    assert cancelled.status_code == 204
    assert await visible(stack, doctor_token, patient["id"]) is not None
    assert all(r.headers["x-router-secret"] == DEV_ROUTER_SECRET for r in stack.transport.requests)


async def test_nothing_extra_is_visible_when_the_appointment_service_is_down(stack: Stack, caplog):
    doctor, doctor_token = await stack.doctor_with_profile()
    patient, patient_token = await stack.auth.user_with_token()
    await stack.book(patient_token, doctor["id"])
    assert await visible(stack, doctor_token, patient["id"]) is not None

    stack.transport.down = True
    with caplog.at_level(logging.WARNING, logger="subgraphs.auth.users.care_http"):
        assert await visible(stack, doctor_token, patient["id"]) is None
    assert "failing closed" in caplog.text
    # The doctor still sees themselves, and the patient still sees themselves.
    assert await visible(stack, doctor_token, doctor["id"]) is not None
    assert await visible(stack, patient_token, patient["id"]) is not None


@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(500, json={"code": "INTERNAL_SERVER_ERROR"}),
        httpx.Response(401, json={"code": "UNAUTHENTICATED"}),
        httpx.Response(200, content=b"<html>proxy error</html>"),
        httpx.Response(200, json={"patient_ids": ["not-a-uuid"]}),
        httpx.Response(200, json={"unexpected": True}),
    ],
)
async def test_a_bad_reply_fails_closed(reply: httpx.Response):
    care = HttpCareRelationships(
        "http://appointments",
        router_secret="s",
        secret_header="x-router-secret",
        transport=httpx.MockTransport(lambda _request: reply),
    )
    try:
        assert await care.patients_in_care(uuid.uuid4(), {uuid.uuid4()}) == set()
    finally:
        await care.aclose()


async def test_never_more_patients_than_asked_about():
    asked, extra = uuid.uuid4(), uuid.uuid4()
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"patient_ids": [str(asked), str(extra)]})

    care = HttpCareRelationships(
        "http://appointments",
        router_secret="s",
        secret_header="x-router-secret",
        transport=httpx.MockTransport(answer),
    )
    try:
        assert await care.patients_in_care(uuid.uuid4(), {asked}) == {asked}
        assert await care.patients_in_care(uuid.uuid4(), set()) == set()
    finally:
        await care.aclose()
    assert len(sent) == 1  # an empty question is answered without asking


async def test_the_default_care_client_is_closed_on_shutdown(make_auth_app):
    app = make_auth_app()
    async for _client in running(app):
        client = app.state.users.care._client
        assert isinstance(app.state.users.care, HttpCareRelationships) and not client.is_closed
    assert client.is_closed
