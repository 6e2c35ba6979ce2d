"""A real stack for observability and fault tests: the e2e harness's processes (`healthcare serve`
per subgraph, Hive Gateway in front, free loopback ports), optionally on PostgreSQL databases of
their own and with extra environment (tracing on, short breaker cool-downs, ...), plus a clinic
that fills it through the services' REST routes."""

from __future__ import annotations

import itertools
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from subgraphs.cli import registry
from tests.databases import PostgresDatabases, require_postgres_or_skip
from tests.e2e.stack import READY_TIMEOUT, Stack

PASSWORD = "correct horse battery staple"
ALL_WEEK = [{"weekday": day, "start": "00:00", "end": "23:59"} for day in range(7)]
# Generous limits: a load test is not a brute-force attack (the limits have tests of their own).
UNTHROTTLED = {
    "REGISTRATION_MAX_PER_ADDRESS": "100000",
    "BOOKING_MAX_PER_PATIENT": "100000",
    "LOGIN_MAX_FAILURES_PER_ADDRESS": "100000",
}


@dataclass
class LiveStack(Stack):
    extra_env: dict[str, str] = field(default_factory=dict)
    database_urls: dict[str, str] = field(default_factory=dict)

    def subgraph_env(self, name: str) -> dict[str, str]:
        env = super().subgraph_env(name)
        if name in self.database_urls:
            env["DATABASE_URL"] = env[f"{name.upper()}_DATABASE_URL"] = self.database_urls[name]
        env.update(self.extra_env)
        return env

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.subgraph_ports[name]}"

    def kill(self, name: str) -> None:
        """SIGKILL, as a crash would."""
        self.processes[name].kill()

    def restart(self, name: str) -> None:
        """Starts a stopped subgraph again on its port and waits until it is ready."""
        process = self.processes[name]
        process.start()
        process.wait_ready(READY_TIMEOUT)


def new_live_stack(directory: Path, *, postgres: PostgresDatabases | None = None, **extra_env: str) -> LiveStack:
    stack = LiveStack(
        directory=directory, secret=f"obs-{secrets.token_hex(16)}", extra_env={**UNTHROTTLED, **extra_env}
    )
    if postgres is not None:
        require_postgres_or_skip()
        for subgraph in registry.SUBGRAPHS.values():
            if subgraph.owns_tables:
                stack.database_urls[subgraph.name] = postgres.url_for(subgraph.name, subgraph.migrations_dir)
    return stack


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


_numbers = itertools.count(1)


class Clinic:
    """People and records made through the services' own REST routes."""

    def __init__(self, stack: LiveStack) -> None:
        self.stack = stack
        self.http = httpx.Client(timeout=30)
        self._slots = itertools.count(1)
        self._day = datetime.now(UTC).date() + timedelta(days=30)

    def close(self) -> None:
        self.http.close()

    def user(self, role: str = "patient", full_name: str | None = None) -> dict:
        email = f"{role}-{uuid.uuid4().hex[:10]}@example.org"
        name = full_name or f"Test {role.title()} {next(_numbers)}"
        auth = self.stack.url("auth")
        body = {"email": email, "password": PASSWORD, "full_name": name, "role": role}
        response = self.http.post(f"{auth}/auth/register", json=body)
        assert response.status_code == 201, response.text
        tokens = self.http.post(f"{auth}/auth/login", json={"email": email, "password": PASSWORD}).json()
        return {
            **response.json(),
            "email": email,
            "full_name": name,
            "token": tokens["access_token"],
            "refresh_token": tokens["refresh_token"],
            "headers": bearer(tokens["access_token"]),
        }

    def doctor(self) -> dict:
        doctor = self.user("doctor")
        body = {
            "display_name": "Dr Test",
            "specialty": "general practice",
            "license_number": f"LIC-{next(_numbers)}",
            "working_hours": ALL_WEEK,
        }
        response = self.http.post(
            f"{self.stack.url('appointments')}/doctors/profile", json=body, headers=doctor["headers"]
        )
        assert response.status_code == 201, response.text
        return doctor

    def next_slot(self) -> datetime:
        """A fresh half-hour slot (each appointment its own, so bookings never collide)."""
        slot = next(self._slots)
        day = self._day + timedelta(days=slot // 40)
        return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC) + timedelta(minutes=30 * (slot % 40))

    def appointment(self, doctor: dict, patient: dict, status: str = "fulfilled") -> dict:
        appointments = self.stack.url("appointments")
        response = self.http.post(
            f"{appointments}/appointments",
            json={"doctor_id": doctor["id"], "starts_at": self.next_slot().isoformat()},
            headers=patient["headers"],
        )
        assert response.status_code == 201, response.text
        appointment = response.json()
        steps = {"booked": [], "arrived": ["arrived"], "fulfilled": ["arrived", "fulfilled"]}[status]
        for step in steps:
            response = self.http.put(
                f"{appointments}/appointments/{appointment['id']}", json={"status": step}, headers=doctor["headers"]
            )
            assert response.status_code == 200, response.text
            appointment = response.json()
        return appointment


def prescription_body(appointment: dict, medication: str = "Amoxicillin 500 mg") -> dict:
    return {
        "appointment_id": appointment["id"],
        "medication": medication,
        "dosage": "1 capsule",
        "frequency": "3 times a day",
        "duration_days": 7,
    }
