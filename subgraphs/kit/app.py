"""One way to assemble a subgraph's FastAPI app: middleware, errors, health, metrics, tracing,
REST, GraphQL."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from sqlalchemy import Connection

from .audit import AuditTrail
from .db import Database
from .health import ReadinessCheck, health_router
from .jwt import KeySource, RemoteJwks, TokenVerifier, remote_account_status
from .metrics import GraphQLMetrics, ServiceMetrics, metrics_router
from .middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from .migrations import current_revision, head_revision
from .problem import install_problem_handlers
from .service_client import ServiceClient
from .settings import DEV_ROUTER_SECRET, DEV_SECRET_KEY, ServiceSettings
from .tracing import OFF, Tracing, TracingSettings, tracing_for

log = logging.getLogger(__name__)


@dataclass
class ServiceParts:
    name: str
    title: str
    description: str
    settings: ServiceSettings
    db: Database | None  # None for a service that owns no tables
    verifier: TokenVerifier
    migrations_dir: Path | None
    rest_routers: list[APIRouter]
    graphql_router: APIRouter
    token_url: str
    readiness_checks: dict[str, ReadinessCheck] = field(default_factory=dict)
    on_shutdown: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    # None: the OTEL_* environment decides (tracing is off unless an OTLP endpoint is set).
    tracing: TracingSettings | None = None


def migrations_current(parts: ServiceParts) -> ReadinessCheck:
    db, migrations_dir = parts.db, parts.migrations_dir
    if db is None or migrations_dir is None:
        raise ValueError(f"{parts.name}: only a service with tables and their migrations has a schema version")
    head = head_revision(migrations_dir)

    async def check() -> None:
        async with db.engine.connect() as connection:
            current = await connection.run_sync(_current_revision_of(parts.name))
        if current != head:
            raise RuntimeError(f"database at {current}, code at {head}")

    return check


def _current_revision_of(service: str) -> Callable[[Connection], str | None]:
    return lambda connection: current_revision(connection, service)


def refuse_development_secrets(settings: ServiceSettings) -> None:
    """Production must not run on the secrets every clone of this repository knows."""
    if not settings.is_production:
        return
    if settings.router_secret == DEV_ROUTER_SECRET or len(settings.router_secret) < 32:
        raise RuntimeError("production needs ROUTER_SECRET set to a random value of at least 32 characters")
    if settings.secret_key == DEV_SECRET_KEY or len(settings.secret_key) < 32:
        raise RuntimeError("production needs SECRET_KEY set to a random value of at least 32 characters")


def build_app(parts: ServiceParts) -> FastAPI:
    refuse_development_secrets(parts.settings)
    metrics = ServiceMetrics(parts.name)
    tracing = tracing_for(parts.name, parts.tracing)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        # The server has stopped taking requests and finished those in flight (uvicorn's
        # graceful shutdown on SIGTERM); now the pools close and the last spans leave.
        for close in parts.on_shutdown:
            await close()
        if parts.db is not None:
            await parts.db.dispose()
        if tracing is not None:
            await tracing.shutdown()
        log.info("shut down: connections and pools closed", extra={"shutdown": parts.name})

    app = FastAPI(
        title=parts.title,
        description=parts.description,
        version="1.0.0",
        lifespan=lifespan,
        # FastAPI's own OpenTelemetry support: server spans when tracing, nothing at all otherwise.
        telemetry=tracing.fastapi_telemetry() if tracing is not None else OFF,
    )
    app.state.settings = parts.settings
    app.state.db = parts.db
    app.state.verifier = parts.verifier
    app.state.metrics = metrics
    app.state.tracing = tracing
    _observe(parts, metrics, tracing)
    own_checks = {"database": parts.db.ping, "migrations": migrations_current(parts)} if parts.db is not None else {}
    app.state.readiness_checks = {**own_checks, **parts.readiness_checks}
    for key, value in parts.state.items():
        setattr(app.state, key, value)

    install_problem_handlers(app)
    app.include_router(health_router(parts.name))
    app.include_router(metrics_router())
    for router in parts.rest_routers:
        app.include_router(router)
    app.include_router(parts.graphql_router, prefix="/graphql", include_in_schema=False)

    # Added last, so they run first: size cap before anything reads a body.
    if parts.settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=parts.settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["authorization", "content-type", "idempotency-key", "x-request-id"],
        )
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=parts.settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, hsts=parts.settings.is_production, metrics=metrics)

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schemes = schema.get("components", {}).get("securitySchemes", {})
            for scheme in schemes.values():
                if scheme.get("type") == "oauth2":
                    scheme["flows"]["password"]["tokenUrl"] = parts.token_url
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _observe(parts: ServiceParts, metrics: ServiceMetrics, tracing: Tracing | None) -> None:
    """Hooks metrics (and tracing, when on) into what the service handed over: its database,
    its clients to other services, its audit trail, its GraphQL schema."""
    if parts.db is not None:
        metrics.watch_database("main", parts.db)
        if tracing is not None:
            tracing.instrument_database(parts.db.engine)
    http_clients: list[httpx.AsyncClient] = []
    for component in _components(parts):
        if isinstance(component, ServiceClient):
            metrics.watch_client(component)
        if isinstance(component, AuditTrail):
            metrics.watch_audit(component)
            writer = getattr(component, "_writer", None)  # read events have a pool of their own
            if isinstance(writer, Database):
                metrics.watch_database("audit", writer)
        client = getattr(component, "http_client", None)
        if isinstance(client, httpx.AsyncClient) and all(client is not seen for seen in http_clients):
            http_clients.append(client)
    if tracing is not None:
        for client in http_clients:
            tracing.instrument_http_client(client)
    # First, so it runs outermost and sees the error codes `ErrorCodes` set.
    schema = getattr(parts.graphql_router, "schema", None)
    if schema is not None and GraphQLMetrics not in schema.extensions:
        schema.extensions = (GraphQLMetrics, *schema.extensions)


def _components(parts: ServiceParts) -> list[Any]:
    """The objects a service handed to `build_app` (its state, the owners of its shutdown hooks),
    and the fields of those that are dataclasses (the admin service's `Upstreams`)."""
    roots = [*parts.state.values(), *(getattr(close, "__self__", None) for close in parts.on_shutdown)]
    found: list[Any] = []
    for root in roots:
        if root is None:
            continue
        found.append(root)
        if dataclasses.is_dataclass(root) and not isinstance(root, type):
            found.extend(getattr(root, item.name) for item in dataclasses.fields(root))
    unique: dict[int, Any] = {id(item): item for item in found}
    return list(unique.values())


def remote_verifier(settings: ServiceSettings, key_source: KeySource | None = None, transport=None) -> TokenVerifier:
    """How a service other than auth checks tokens: the auth service's JWKS, and its word
    on whether the account is still active. Tests pass their own `key_source` (there is
    no auth service to ask about accounts then)."""
    status = None
    if key_source is None:
        key_source = RemoteJwks(
            f"{settings.auth_service_url}/.well-known/jwks.json",
            cooldown=settings.jwks_refetch_cooldown,
            transport=transport,
        )
        status = remote_account_status(
            f"{settings.auth_service_url}/auth/validate-token",
            recheck_seconds=settings.account_recheck_seconds,
            transport=transport,
        )
    return TokenVerifier(key_source, issuer=settings.jwt_issuer, audience=settings.jwt_audience, status=status)


def get_db(request: Request) -> Database:
    return request.app.state.db


DatabaseDep = Annotated[Database, Depends(get_db)]
