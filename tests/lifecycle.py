"""The four services wired as in production, account rechecks and the doctor roster included.

Unlike `tests/system.py` (which hands every service auth's keys, so nothing asks auth
about accounts), each service here learns everything from the auth app itself, over
`httpx.ASGITransport`: its JWKS, `validate-token` for each token's standing, and the
appointment service's roster of active doctors. Every recheck runs on one clock the test
moves (`Clock.advance`), so "after ACCOUNT_RECHECK_SECONDS" takes no waiting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx

from subgraphs.admin.app import create_app as create_admin
from subgraphs.admin.config import AdminSettings
from subgraphs.appointments.app import MIGRATIONS as APPOINTMENTS_MIGRATIONS
from subgraphs.appointments.app import create_app as create_appointments
from subgraphs.appointments.config import AppointmentSettings
from subgraphs.auth.app import MIGRATIONS as AUTH_MIGRATIONS
from subgraphs.auth.app import create_app as create_auth
from subgraphs.auth.users.care_http import HttpCareRelationships
from subgraphs.kit.settings import DEV_ROUTER_SECRET
from subgraphs.prescriptions.app import MIGRATIONS as PRESCRIPTIONS_MIGRATIONS
from subgraphs.prescriptions.app import create_app as create_prescriptions
from subgraphs.prescriptions.config import PrescriptionSettings

from .auth.conftest import auth_settings
from .conftest import running
from .system import System, _Lazy

RECHECK_SECONDS = 30.0


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def past_the_recheck(self) -> None:
        self.now += RECHECK_SECONDS + 1


@asynccontextmanager
async def checked_system(database_for, tmp_path) -> AsyncIterator[tuple[System, Clock]]:
    clock = Clock()
    to_appointments = _Lazy()
    care = HttpCareRelationships(
        "http://appointments",
        router_secret=DEV_ROUTER_SECRET,
        secret_header="x-router-secret",
        transport=to_appointments,
    )
    auth = create_auth(
        auth_settings(
            database_for("auth", AUTH_MIGRATIONS), tmp_path / "auth", account_recheck_seconds=RECHECK_SECONDS
        ),
        care=care,
    )
    to_auth = httpx.ASGITransport(app=auth)
    common = {"data_dir": tmp_path, "auth_service_url": "http://auth", "account_recheck_seconds": RECHECK_SECONDS}
    appointments = create_appointments(
        AppointmentSettings(database_url=database_for("appointments", APPOINTMENTS_MIGRATIONS), **common),
        auth_transport=to_auth,
    )
    to_appointments.inner = httpx.ASGITransport(app=appointments)
    prescriptions = create_prescriptions(
        PrescriptionSettings(database_url=database_for("prescriptions", PRESCRIPTIONS_MIGRATIONS), **common),
        appointments_transport=httpx.ASGITransport(app=appointments),
        auth_transport=to_auth,
    )
    admin = create_admin(
        AdminSettings(**common),
        transports={
            "auth": to_auth,
            "appointments": httpx.ASGITransport(app=appointments),
            "prescriptions": httpx.ASGITransport(app=prescriptions),
        },
    )
    apps = {"auth": auth, "appointments": appointments, "prescriptions": prescriptions, "admin": admin}
    for app in apps.values():
        assert app.state.verifier.status is not None, "every service must recheck accounts here"
        app.state.verifier.status.clock = clock
    appointments.state.doctor_roster.clock = clock
    async with AsyncExitStack() as stack:
        clients = {}
        for name, app in apps.items():
            clients[name] = await stack.enter_async_context(_client(app))
        yield System(clients, apps), clock
        await care.aclose()


@asynccontextmanager
async def _client(app) -> AsyncIterator[httpx.AsyncClient]:
    async for client in running(app):
        yield client
