"""The admin service: analytics and user management over the services that own the data."""

from __future__ import annotations

import httpx
from fastapi import FastAPI, Request

from subgraphs.kit.app import ServiceParts, build_app, remote_verifier
from subgraphs.kit.graphql import client_address, principal_from_request, subgraph_router
from subgraphs.kit.jwt import KeySource

from .analytics import endpoints as analytics_endpoints
from .analytics.service import AnalyticsService
from .config import AdminSettings
from .graph import AdminContext, schema
from .upstream import Upstreams
from .users import endpoints as user_endpoints
from .users.service import UserAdministration


def create_app(
    settings: AdminSettings | None = None,
    *,
    key_source: KeySource | None = None,
    transports: dict[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    settings = settings or AdminSettings()
    verifier = remote_verifier(settings, key_source, (transports or {}).get("auth"))
    upstreams = Upstreams.from_settings(settings, transports)
    analytics = AnalyticsService(upstreams)
    administration = UserAdministration(upstreams)

    async def context(request: Request) -> AdminContext:
        principal, auth_error = await principal_from_request(request, verifier)
        return AdminContext(
            principal=principal,
            auth_error=auth_error,
            request_id=request.state.request_id,
            client_address=client_address(request),
            authorization=request.headers.get("authorization"),
            user_administration=administration,
        )

    async def auth_reachable() -> None:
        (await upstreams.auth.get("/health")).raise_for_status()

    return build_app(
        ServiceParts(
            name="admin",
            title="Admin service",
            description="Analytics and user management for admins. Owns no tables: it asks the services that do.",
            settings=settings,
            db=None,
            verifier=verifier,
            migrations_dir=None,
            rest_routers=[analytics_endpoints.router, user_endpoints.router],
            graphql_router=subgraph_router(schema, context, settings),
            token_url=f"{settings.auth_service_url}/auth/token",
            readiness_checks={"auth": auth_reachable},
            on_shutdown=[upstreams.aclose],
            state={"analytics": analytics, "user_administration": administration},
        )
    )
