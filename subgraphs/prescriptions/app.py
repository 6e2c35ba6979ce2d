"""The prescription service: FastAPI app with the REST routes of the original design and the subgraph."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI, Request

from subgraphs.kit.app import ServiceParts, build_app, remote_verifier
from subgraphs.kit.audit import AuditTrail
from subgraphs.kit.audit_endpoints import audit_router
from subgraphs.kit.db import Database
from subgraphs.kit.graphql import client_address, principal_from_request, subgraph_router
from subgraphs.kit.jwt import KeySource
from subgraphs.kit.service_client import Backoff, CircuitBreaker, ServiceClient

from .appointments.client import AppointmentsOverHttp
from .config import PrescriptionSettings
from .context import Loaders, PrescriptionsContext
from .graph import schema
from .idempotency.replays import ReplayableWrites
from .orm import idempotency_keys
from .prescriptions import endpoints as prescription_endpoints
from .prescriptions.service import PrescriptionService

MIGRATIONS = Path(__file__).parent / "migrations"


def appointment_client(
    settings: PrescriptionSettings,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ServiceClient:
    """The one pooled client to the appointment service this process uses (closed on shutdown)."""
    return ServiceClient(
        "appointment",
        settings.appointment_service_url,
        timeout=settings.appointment_timeout,
        retries=settings.appointment_retries,
        backoff=Backoff(base=settings.appointment_backoff_base, cap=settings.appointment_backoff_cap),
        breaker=CircuitBreaker(
            failure_threshold=settings.appointment_breaker_threshold,
            cooldown=settings.appointment_breaker_cooldown,
            clock=clock,
        ),
        transport=transport,
    )


def create_app(
    settings: PrescriptionSettings | None = None,
    *,
    key_source: KeySource | None = None,
    appointments_transport: httpx.AsyncBaseTransport | None = None,
    auth_transport: httpx.AsyncBaseTransport | None = None,
    breaker_clock: Callable[[], float] = time.monotonic,
) -> FastAPI:
    settings = settings or PrescriptionSettings()
    db = Database(settings.database_url, pool_size=settings.db_pool_size, echo=settings.db_echo)
    # Tokens are verified here against the auth service's published keys, and
    # the account rechecked there (docs/architecture.md #6: security must not depend on the router).
    verifier = remote_verifier(settings, key_source, auth_transport)
    client = appointment_client(settings, appointments_transport, breaker_clock)
    idempotency = ReplayableWrites(db, idempotency_keys, ttl=timedelta(hours=settings.idempotency_ttl_hours))
    audit = AuditTrail("prescriptions", db)
    prescriptions = PrescriptionService(db, AppointmentsOverHttp(client), idempotency, audit)

    async def context(request: Request) -> PrescriptionsContext:
        principal, auth_error = await principal_from_request(request, verifier)
        return PrescriptionsContext(
            principal=principal,
            auth_error=auth_error,
            request_id=request.state.request_id,
            client_address=client_address(request),
            prescriptions_service=prescriptions,
            loaders=Loaders.build(prescriptions, principal, auth_error),
            authorization=request.headers.get("authorization"),
        )

    return build_app(
        ServiceParts(
            name="prescriptions",
            title="Prescription service",
            description=(
                "Prescriptions issued at appointments, checked with the appointment service. Owns the "
                "`Prescription` entity of the supergraph and adds `prescriptions` to `User` and `Appointment`."
            ),
            settings=settings,
            db=db,
            verifier=verifier,
            migrations_dir=MIGRATIONS,
            rest_routers=[prescription_endpoints.router, audit_router()],
            graphql_router=subgraph_router(schema, context, settings),
            # Swagger's "Authorize" button gets its token from the auth service.
            token_url=f"{settings.auth_service_url}/auth/token",
            # Not a readiness check: reads keep working while the appointment
            # service is down, and failing /ready would take this service out
            # of rotation along with it. Its breaker is observable instead.
            on_shutdown=[client.aclose, audit.close],
            state={"prescriptions": prescriptions, "appointment_client": client, "audit": audit},
        )
    )
