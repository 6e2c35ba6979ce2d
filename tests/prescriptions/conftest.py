"""A prescriptions service wired to a real appointments service, in process.

`world` gives both apps on one backend (SQLite or PostgreSQL, each with its own
migrated database), the same test signing keys, and helpers that make doctors,
patients and appointments through the appointments service's own REST API.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from subgraphs.appointments.app import MIGRATIONS as APPOINTMENT_MIGRATIONS
from subgraphs.appointments.app import create_app as create_appointments_app
from subgraphs.appointments.config import AppointmentSettings
from subgraphs.kit.jwt import StaticKeys
from subgraphs.prescriptions.app import MIGRATIONS, create_app
from subgraphs.prescriptions.config import PrescriptionSettings
from subgraphs.prescriptions.prescriptions.models import Prescription

from ..conftest import ROUTER_HEADERS, running
from ..tokens import mint, new_keys

# Every day, all day long enough for any slot the helpers book.
ALL_WEEK = [{"weekday": day, "start": "08:00", "end": "20:00"} for day in range(7)]
_slots = itertools.count(1)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


class User:
    def __init__(self, keys, role: str, user_id: uuid.UUID | None = None) -> None:
        self.id = user_id or uuid.uuid4()
        self.role = role
        self.token = mint(keys, self.id, role)

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


class Clock:
    """A monotonic clock tests move by hand (for the circuit breaker's cool-down)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class World:
    def __init__(self, keys, client: httpx.AsyncClient, app, appointments: httpx.AsyncClient, clock: Clock) -> None:
        self.keys = keys
        self.client = client
        self.app = app
        self.appointments = appointments
        self.clock = clock

    # -- people --------------------------------------------------------------

    def patient(self) -> User:
        return User(self.keys, "patient")

    def admin(self) -> User:
        return User(self.keys, "admin")

    def signed_in(self, role: str, user_id: uuid.UUID | None = None) -> User:
        """A caller with a token and no profile anywhere: enough for rows seeded directly."""
        return User(self.keys, role, user_id)

    async def doctor(self) -> User:
        doctor = User(self.keys, "doctor")
        body = {
            "display_name": "Dr Test",
            "specialty": "general practice",
            "license_number": "LIC-1",
            "working_hours": ALL_WEEK,
        }
        response = await self.appointments.post("/doctors/profile", json=body, headers=doctor.headers)
        assert response.status_code == 201, response.text
        return doctor

    # -- appointments (through the appointments service's REST API) ----------

    async def appointment(self, doctor: User, patient: User, status: str = "arrived") -> dict:
        # One day per appointment: no two ever overlap, for the doctor or the patient.
        day = datetime.now(UTC).date() + timedelta(days=next(_slots))
        starts_at = datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)
        response = await self.appointments.post(
            "/appointments",
            json={"doctor_id": str(doctor.id), "starts_at": starts_at.isoformat()},
            headers=patient.headers,
        )
        assert response.status_code == 201, response.text
        appointment = response.json()
        path = {"booked": [], "arrived": ["arrived"], "fulfilled": ["arrived", "fulfilled"], "noshow": ["noshow"]}
        for step in path.get(status, [status]):
            changed = await self.appointments.put(
                f"/appointments/{appointment['id']}", json={"status": step}, headers=doctor.headers
            )
            assert changed.status_code == 200, changed.text
            appointment = changed.json()
        return appointment

    # -- prescriptions -------------------------------------------------------

    @staticmethod
    def body(appointment_id, **fields) -> dict:
        return {
            "appointment_id": str(appointment_id),
            "medication": "Amoxicillin 500 mg",
            "dosage": "1 capsule",
            "frequency": "3 times a day",
            "duration_days": 7,
            "refills": 1,
            "instructions": "After meals",
            **fields,
        }

    async def issue(self, doctor: User, appointment_id, headers: dict | None = None, **fields) -> httpx.Response:
        return await self.client.post(
            "/prescriptions", json=self.body(appointment_id, **fields), headers={**doctor.headers, **(headers or {})}
        )

    async def issued(self, doctor: User, patient: User, **fields) -> dict:
        """A prescription issued the real way: appointment booked, arrived, prescribed."""
        appointment = await self.appointment(doctor, patient)
        response = await self.issue(doctor, appointment["id"], **fields)
        assert response.status_code == 201, response.text
        return response.json()

    async def seed(self, count: int, doctor_id, patient_id, appointment_id=None) -> list[str]:
        """Rows written straight to the database: setup for query-count tests, not a path under test."""
        now = datetime.now(UTC)
        rows = [
            Prescription(
                appointment_id=appointment_id or uuid.uuid4(),
                patient_id=patient_id,
                doctor_id=doctor_id,
                medication=f"Medication {index}",
                dosage="1 tablet",
                frequency="daily",
                status="active",
                version=1,
                refills=0,
                issued_at=now - timedelta(minutes=index),
                updated_at=now,
            )
            for index in range(count)
        ]
        async with self.app.state.db.transaction() as session:
            session.add_all(rows)
        return [str(row.id) for row in rows]

    async def count_rows(self, model=Prescription) -> int:
        from sqlalchemy import func, select

        async with self.app.state.db.session() as session:
            return await session.scalar(select(func.count()).select_from(model))

    async def gql(self, query: str, variables: dict | None = None, user: User | None = None) -> dict:
        headers = {**ROUTER_HEADERS, **(user.headers if user else {})}
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def keys():
    return new_keys()


@pytest.fixture
def appointments_url(database_for) -> str:
    return database_for("appointments", APPOINTMENT_MIGRATIONS)


@pytest.fixture
def prescriptions_url(database_for) -> str:
    return database_for("prescriptions", MIGRATIONS)


@pytest.fixture
def appointments_app(appointments_url, keys, tmp_path):
    settings = AppointmentSettings(database_url=appointments_url, data_dir=tmp_path / "appointments")
    return create_appointments_app(settings, key_source=StaticKeys(keys.public_keys))


def prescription_settings(database_url: str, tmp_path, **overrides) -> PrescriptionSettings:
    values = {
        "database_url": database_url,
        "data_dir": tmp_path / "prescriptions",
        # Small backoff keeps retry tests quick; the attempts are what they count.
        "appointment_backoff_base": 0.001,
        "appointment_backoff_cap": 0.005,
        # The appointment service runs in process: on a loaded machine one answer can pass the 2 s
        # default and turn a 409 into a 503. Tests of timeouts set their own.
        "appointment_timeout": 10.0,
        **overrides,
    }
    return PrescriptionSettings(**values)


@pytest.fixture
def make_world(prescriptions_url, appointments_app, keys, tmp_path) -> Callable:
    """`async with make_world(transport=..., **settings) as world`: a prescriptions app, its clients, a clock."""

    @asynccontextmanager
    async def make(transport: httpx.AsyncBaseTransport | None = None, **overrides) -> AsyncIterator[World]:
        clock = Clock()
        if transport is None and "appointment_service_url" not in overrides:
            transport = httpx.ASGITransport(app=appointments_app)
            overrides["appointment_service_url"] = "http://appointments.test"
        app = create_app(
            prescription_settings(prescriptions_url, tmp_path, **overrides),
            key_source=StaticKeys(keys.public_keys),
            appointments_transport=transport,
            breaker_clock=clock,
        )
        async for appointments in running(appointments_app):
            async for client in running(app):
                yield World(keys, client, app, appointments, clock)

    return make


@pytest.fixture
async def world(make_world) -> AsyncIterator[World]:
    async with make_world() as world:
        yield world
