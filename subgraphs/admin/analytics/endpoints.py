from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from subgraphs.kit.openapi import problems
from subgraphs.kit.security import CurrentPrincipal, oauth2_scheme

from .schemas import AnalyticsReport
from .service import AnalyticsService

UPSTREAM_DOWN = {503: "DEPENDENCY_UNAVAILABLE: a service that owns the data cannot answer"}
router = APIRouter(tags=["analytics"], responses=problems(401, {403: "FORBIDDEN: not an admin"}, UPSTREAM_DOWN))


def _analytics(request: Request) -> AnalyticsService:
    return request.app.state.analytics


@router.get("/admin/analytics", response_model=AnalyticsReport, summary="Counts by owner service (admins)")
async def analytics(
    principal: CurrentPrincipal,
    token: Annotated[str, Depends(oauth2_scheme)],
    service: Annotated[AnalyticsService, Depends(_analytics)],
) -> AnalyticsReport:
    return await service.report(principal, f"Bearer {token}")
