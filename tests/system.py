"""The four services in one process, wired to each other as in production.

Auth issues real tokens; appointments and prescriptions verify them with auth's
keys; auth asks appointments about care relationships, prescriptions asks
appointments about appointments, admin asks all three: every hop is an HTTP
call over `httpx.ASGITransport` into the real app. Each service has its own
migrated database on the test's backend (SQLite or PostgreSQL).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx

from subgraphs.admin.app import create_app as create_admin
from subgraphs.admin.config import AdminSettings
from subgraphs.appointments.app import MIGRATIONS as APPOINTMENTS_MIGRATIONS
from subgraphs.appointments.app import create_app as create_appointments
from subgraphs.appointments.config import AppointmentSettings
from subgraphs.auth.app import MIGRATIONS as AUTH_MIGRATIONS
from subgraphs.auth.app import create_app as create_auth
from subgraphs.auth.users.care_http import HttpCareRelationships
from subgraphs.kit.jwt import StaticKeys
from subgraphs.kit.settings import DEV_ROUTER_SECRET
from subgraphs.prescriptions.app import MIGRATIONS as PRESCRIPTIONS_MIGRATIONS
from subgraphs.prescriptions.app import create_app as create_prescriptions
from subgraphs.prescriptions.config import PrescriptionSettings

from .auth.conftest import auth_settings
from .conftest import ROUTER_HEADERS, running

PASSWORD = "correct horse battery"
ALL_WEEK = [{"weekday": day, "start": "08:00", "end": "20:00"} for day in range(7)]
_numbers = itertools.count(1)


class _Lazy(httpx.AsyncBaseTransport):
    """A transport to an app made later (auth and appointments need each other)."""

    def __init__(self) -> None:
        self.inner: httpx.AsyncBaseTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert self.inner is not None
        return await self.inner.handle_async_request(request)


class System:
    def __init__(self, clients: dict[str, httpx.AsyncClient], apps: dict) -> None:
        self.clients = clients
        self.apps = apps
        self.auth = clients["auth"]
        self.appointments = clients["appointments"]
        self.prescriptions = clients["prescriptions"]
        self.admin = clients["admin"]

    # -- people ------------------------------------------------------------
    async def user(self, role: str = "patient") -> dict:
        """A registered, signed-in user: its profile plus `token` and `headers`."""
        email = f"{role}{next(_numbers)}@example.org"
        if role == "admin":
            await self.apps["auth"].state.users.create_admin(email, PASSWORD, "Ada Admin")
        else:
            body = {"email": email, "password": PASSWORD, "full_name": f"Test {role.title()}", "role": role}
            response = await self.auth.post("/auth/register", json=body)
            assert response.status_code == 201, response.text
        tokens = (await self.auth.post("/auth/login", json={"email": email, "password": PASSWORD})).json()
        profile = (await self.auth.get("/users/profile", headers=bearer(tokens["access_token"]))).json()
        return {**profile, "token": tokens["access_token"], "headers": bearer(tokens["access_token"])}

    async def doctor(self) -> dict:
        doctor = await self.user("doctor")
        body = {
            "display_name": "Dr Test",
            "specialty": "general practice",
            "license_number": "LIC-1",
            "working_hours": ALL_WEEK,
        }
        response = await self.appointments.post("/doctors/profile", json=body, headers=doctor["headers"])
        assert response.status_code == 201, response.text
        return doctor

    # -- records -----------------------------------------------------------
    async def appointment(self, doctor: dict, patient: dict, status: str = "booked") -> dict:
        day = datetime.now(UTC).date() + timedelta(days=next(_numbers))
        starts_at = datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)
        response = await self.appointments.post(
            "/appointments",
            json={"doctor_id": doctor["id"], "starts_at": starts_at.isoformat()},
            headers=patient["headers"],
        )
        assert response.status_code == 201, response.text
        appointment = response.json()
        steps = {"booked": [], "arrived": ["arrived"], "fulfilled": ["arrived", "fulfilled"]}.get(status, [status])
        for step in steps:
            response = await self.appointments.put(
                f"/appointments/{appointment['id']}", json={"status": step}, headers=doctor["headers"]
            )
            assert response.status_code == 200, response.text
            appointment = response.json()
        return appointment

    async def prescription(self, doctor: dict, appointment: dict, **fields) -> dict:
        body = {
            "appointment_id": appointment["id"],
            "medication": "Amoxicillin 500 mg",
            "dosage": "1 capsule",
            "frequency": "3 times a day",
            "duration_days": 7,
            **fields,
        }
        response = await self.prescriptions.post("/prescriptions", json=body, headers=doctor["headers"])
        assert response.status_code == 201, response.text
        return response.json()

    async def gql(self, service: str, query: str, variables: dict | None = None, user: dict | None = None) -> dict:
        headers = {**ROUTER_HEADERS, **(user["headers"] if user else {})}
        response = await self.clients[service].post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@asynccontextmanager
async def in_process_system(database_for, tmp_path) -> AsyncIterator[System]:
    to_appointments = _Lazy()
    care = HttpCareRelationships(
        "http://appointments",
        router_secret=DEV_ROUTER_SECRET,
        secret_header="x-router-secret",
        transport=to_appointments,
    )
    auth = create_auth(auth_settings(database_for("auth", AUTH_MIGRATIONS), tmp_path / "auth"), care=care)
    keys = StaticKeys(auth.state.keys.public_keys)
    appointments = create_appointments(
        AppointmentSettings(database_url=database_for("appointments", APPOINTMENTS_MIGRATIONS), data_dir=tmp_path),
        key_source=keys,
    )
    to_appointments.inner = httpx.ASGITransport(app=appointments)
    prescriptions = create_prescriptions(
        PrescriptionSettings(database_url=database_for("prescriptions", PRESCRIPTIONS_MIGRATIONS), data_dir=tmp_path),
        key_source=keys,
        appointments_transport=httpx.ASGITransport(app=appointments),
    )
    admin = create_admin(
        AdminSettings(data_dir=tmp_path),
        transports={
            "auth": httpx.ASGITransport(app=auth),
            "appointments": httpx.ASGITransport(app=appointments),
            "prescriptions": httpx.ASGITransport(app=prescriptions),
        },
    )
    apps = {"auth": auth, "appointments": appointments, "prescriptions": prescriptions, "admin": admin}
    async with AsyncExitStack() as stack:
        clients = {}
        for name, app in apps.items():
            clients[name] = await stack.enter_async_context(_client(app))
        yield System(clients, apps)
        await care.aclose()


@asynccontextmanager
async def _client(app) -> AsyncIterator[httpx.AsyncClient]:
    async for client in running(app):
        yield client
