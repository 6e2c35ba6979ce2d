"""The auth service: FastAPI app with the REST routes of the original design and the subgraph."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request

from subgraphs.kit.app import ServiceParts, build_app
from subgraphs.kit.audit import AuditTrail
from subgraphs.kit.audit_endpoints import audit_router
from subgraphs.kit.db import Database
from subgraphs.kit.graphql import client_address, principal_from_request, subgraph_router
from subgraphs.kit.jwt import AccountStatus, StaticKeys, TokenVerifier
from subgraphs.kit.ratelimit import RateLimit, counter_from_settings

from .config import AuthSettings
from .graph import AuthContext, schema
from .tokens import endpoints as token_endpoints
from .tokens.keys import KeyRing
from .tokens.service import TokenService
from .tokens.standing import TokenStanding
from .tokens.throttle import LoginThrottle
from .users import admin_endpoints
from .users import endpoints as user_endpoints
from .users.care import CareRelationships
from .users.care_http import HttpCareRelationships
from .users.internal import internal_router
from .users.loaders import user_loader
from .users.management import UserManagement
from .users.passwords import Passwords
from .users.service import UserService

MIGRATIONS = Path(__file__).parent / "migrations"


def load_keys(settings: AuthSettings) -> KeyRing:
    if settings.jwt_private_keys:
        return KeyRing.from_pem_text(settings.jwt_private_keys)
    if settings.is_production:
        # A key generated on a pod's disk differs per replica and dies with the pod.
        raise RuntimeError("production needs JWT_PRIVATE_KEYS (PEM); keys are generated only in development")
    return KeyRing.from_directory(settings.data_dir / "keys" / "auth")


def create_app(settings: AuthSettings | None = None, care: CareRelationships | None = None) -> FastAPI:
    settings = settings or AuthSettings()
    db = Database(settings.database_url, pool_size=settings.db_pool_size, echo=settings.db_echo)
    keys = load_keys(settings)
    passwords = Passwords(time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib)
    on_shutdown: list[Callable[[], Awaitable[None]]] = []
    if care is None:
        http_care = HttpCareRelationships(
            settings.appointment_service_url,
            router_secret=settings.router_secret,
            secret_header=settings.router_secret_header,
        )
        on_shutdown.append(http_care.aclose)
        care = http_care
    audit = AuditTrail("auth", db)
    on_shutdown.append(audit.close)
    # Rate-limit counters: Redis when REDIS_URL is set (shared by replicas), memory otherwise.
    counter = counter_from_settings(settings)
    on_shutdown.append(counter.aclose)
    registrations = RateLimit(
        counter,
        "register:address",
        limit=settings.registration_max_per_address,
        window_seconds=settings.registration_window_seconds,
    )
    users = UserService(db, passwords, care, audit, registrations=registrations)
    standing = TokenStanding(db)
    verifier = TokenVerifier(
        StaticKeys(keys.public_keys),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        # The same rule as every other service's, asked of the database instead of validate-token.
        status=AccountStatus(standing.ask, recheck_seconds=settings.account_recheck_seconds),
    )
    throttle = LoginThrottle(
        counter,
        per_account=settings.login_max_failures_per_account,
        per_address=settings.login_max_failures_per_address,
        window_seconds=settings.login_failure_window_seconds,
    )
    tokens = TokenService(db, users, keys, verifier, throttle, settings, standing)
    user_management = UserManagement(db, audit)

    async def context(request: Request) -> AuthContext:
        principal, auth_error = await principal_from_request(request, verifier)
        return AuthContext(
            principal=principal,
            auth_error=auth_error,
            request_id=request.state.request_id,
            client_address=client_address(request),
            users_service=users,
            tokens_service=tokens,
            users=user_loader(users, principal, auth_error),
            user_management=user_management,
        )

    return build_app(
        ServiceParts(
            name="auth",
            title="Auth service",
            description="Users, passwords and tokens. Owns the `User` entity of the supergraph.",
            settings=settings,
            db=db,
            verifier=verifier,
            migrations_dir=MIGRATIONS,
            rest_routers=[
                user_endpoints.router,
                token_endpoints.router,
                admin_endpoints.router,
                internal_router(settings),
                audit_router(),
            ],
            graphql_router=subgraph_router(schema, context, settings),
            token_url="/auth/token",
            state={
                "users": users,
                "tokens": tokens,
                "keys": keys,
                "user_management": user_management,
                "audit": audit,
                "rate_limits": counter,
            },
            on_shutdown=on_shutdown,
        )
    )
