from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from subgraphs.appointments.app import MIGRATIONS, create_app
from subgraphs.appointments.appointments.models import Appointment
from subgraphs.appointments.config import AppointmentSettings
from subgraphs.kit.jwt import StaticKeys

from ..conftest import ROUTER_HEADERS, running
from ..tokens import mint, new_keys

WEEKDAYS_9_TO_5 = [{"weekday": day, "start": "09:00", "end": "17:00"} for day in range(5)]


@dataclass(frozen=True)
class Caller:
    id: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


def monday(weeks_ahead: int = 2) -> datetime:
    """Midnight UTC of a Monday at least `weeks_ahead` weeks from now: always in the future."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=7 * weeks_ahead - today.weekday())


def at(day: datetime, clock: str, days: int = 0) -> datetime:
    hours, minutes = clock.split(":")
    return day + timedelta(days=days, hours=int(hours), minutes=int(minutes))


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def same_instant(left: str, right: str) -> bool:
    return datetime.fromisoformat(left) == datetime.fromisoformat(right)


class AppointmentsApi:
    """A test client speaking the appointment service's REST routes and its subgraph endpoint."""

    def __init__(self, client: httpx.AsyncClient, app, keys) -> None:
        self.client = client
        self.app = app
        self.keys = keys

    @property
    def db(self):
        return self.app.state.db

    def caller(self, role: str = "patient", user_id: str | None = None) -> Caller:
        user_id = user_id or str(uuid.uuid4())
        return Caller(user_id, role, mint(self.keys, user_id, role))

    async def doctor(self, **fields) -> tuple[Caller, dict]:
        doctor = self.caller("doctor")
        body = {
            "display_name": "Dr. Test",
            "specialty": "Cardiology",
            "license_number": "LIC-1",
            "working_hours": WEEKDAYS_9_TO_5,
            "appointment_minutes": 30,
            **fields,
        }
        response = await self.client.post("/doctors/profile", json=body, headers=doctor.headers)
        assert response.status_code == 201, response.text
        return doctor, response.json()

    async def book(self, patient: Caller, doctor_id: str, starts_at: datetime, **fields) -> httpx.Response:
        body = {"doctor_id": doctor_id, "starts_at": iso(starts_at), **fields}
        return await self.client.post("/appointments", json=body, headers=patient.headers)

    async def booked(self, patient: Caller, doctor_id: str, starts_at: datetime, **fields) -> dict:
        response = await self.book(patient, doctor_id, starts_at, **fields)
        assert response.status_code == 201, response.text
        return response.json()

    async def gql(self, query: str, variables: dict | None = None, caller: Caller | None = None) -> dict:
        headers = dict(ROUTER_HEADERS)
        if caller is not None:
            headers.update(caller.headers)
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def count(self, model=Appointment, *conditions) -> int:
        async with self.db.session() as session:
            return await session.scalar(select(func.count()).select_from(model).where(*conditions))

    async def statuses(self) -> list[str]:
        async with self.db.session() as session:
            return sorted(await session.scalars(select(Appointment.status)))


@pytest.fixture
def token_keys():
    return new_keys()


@pytest.fixture
def make_appointments_app(database_for, tmp_path, token_keys):
    url = database_for("appointments", MIGRATIONS)

    def make(**overrides):
        settings = AppointmentSettings(database_url=url, data_dir=tmp_path / "data", **overrides)
        return create_app(settings, key_source=StaticKeys(token_keys.public_keys))

    return make


@pytest.fixture
async def api(make_appointments_app, token_keys):
    app = make_appointments_app()
    async for client in running(app):
        yield AppointmentsApi(client, app, token_keys)
