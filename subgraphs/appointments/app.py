"""The appointment service: FastAPI app with the REST routes of the original design and the subgraph."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI, Request

from subgraphs.kit.app import ServiceParts, build_app, remote_verifier
from subgraphs.kit.audit import AuditTrail
from subgraphs.kit.audit_endpoints import audit_router
from subgraphs.kit.db import Database
from subgraphs.kit.graphql import client_address, principal_from_request, subgraph_router
from subgraphs.kit.idempotency import IdempotentWrites
from subgraphs.kit.jwt import KeySource
from subgraphs.kit.ratelimit import RateLimit, counter_from_settings
from subgraphs.kit.service_client import ServiceClient

from .appointments import endpoints as appointment_endpoints
from .appointments.internal import internal_router
from .appointments.service import AppointmentService
from .config import AppointmentSettings
from .context import AppointmentsContext, Loaders
from .doctors import endpoints as doctor_endpoints
from .doctors.roster import DoctorRoster
from .doctors.service import DoctorService
from .graph import schema
from .orm import idempotency_keys

MIGRATIONS = Path(__file__).parent / "migrations"


def doctor_roster(settings: AppointmentSettings, transport: httpx.AsyncBaseTransport | None = None) -> DoctorRoster:
    """Who of the doctors is in service, asked of the auth service (doctors/roster.py)."""
    client = ServiceClient("auth", settings.auth_service_url, timeout=2.0, retries=1, transport=transport)
    return DoctorRoster(
        client,
        headers={settings.router_secret_header: settings.router_secret},
        recheck_seconds=settings.account_recheck_seconds,
    )


def create_app(
    settings: AppointmentSettings | None = None,
    *,
    key_source: KeySource | None = None,
    auth_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    settings = settings or AppointmentSettings()
    db = Database(settings.database_url, pool_size=settings.db_pool_size, echo=settings.db_echo)
    # Tokens are verified here against the auth service's published keys, and the account
    # rechecked there (docs/architecture.md #6: security must not depend on the router).
    verifier = remote_verifier(settings, key_source, auth_transport)
    # Tests that hand in their own keys and no way to auth have no auth service to ask:
    # then every doctor profile is in service.
    roster = doctor_roster(settings, auth_transport) if key_source is None or auth_transport is not None else None
    audit = AuditTrail("appointments", db)
    counter = counter_from_settings(settings)
    booking_limit = RateLimit(
        counter,
        "booking:patient",
        limit=settings.booking_max_per_patient,
        window_seconds=settings.booking_window_seconds,
    )
    doctors = DoctorService(db, audit, roster)
    idempotency = IdempotentWrites(db, idempotency_keys, ttl=timedelta(hours=settings.idempotency_ttl_hours))
    appointments = AppointmentService(db, idempotency, audit, booking_limit, roster=roster)

    async def context(request: Request) -> AppointmentsContext:
        principal, auth_error = await principal_from_request(request, verifier)
        return AppointmentsContext(
            principal=principal,
            auth_error=auth_error,
            request_id=request.state.request_id,
            client_address=client_address(request),
            doctors_service=doctors,
            appointments_service=appointments,
            loaders=Loaders.build(doctors, appointments, principal, auth_error),
        )

    return build_app(
        ServiceParts(
            name="appointments",
            title="Appointment service",
            description=(
                "Doctor profiles, working hours and appointments. Owns the `Doctor` and "
                "`Appointment` entities of the supergraph and adds `appointments` and "
                "`doctorProfile` to `User`."
            ),
            settings=settings,
            db=db,
            verifier=verifier,
            migrations_dir=MIGRATIONS,
            rest_routers=[
                doctor_endpoints.router,
                appointment_endpoints.router,
                internal_router(settings),
                audit_router(),
            ],
            graphql_router=subgraph_router(schema, context, settings),
            # Swagger's "Authorize" button gets its token from the auth service.
            token_url=f"{settings.auth_service_url}/auth/token",
            on_shutdown=[audit.close, counter.aclose, *([roster.client.aclose] if roster else [])],
            state={
                "doctors": doctors,
                "appointments": appointments,
                "audit": audit,
                "rate_limits": counter,
                "doctor_roster": roster,
            },
        )
    )
