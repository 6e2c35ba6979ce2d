"""`/health` (the process answers) and `/ready` (everything it needs answers)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[None]]
CHECK_TIMEOUT_SECONDS = 2.0


def health_router(service: str) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health", summary="The process is up")
    async def health() -> dict:
        return {"status": "ok", "service": service}

    @router.get("/ready", summary="The service can serve: its database and dependencies answer")
    async def ready(request: Request) -> JSONResponse:
        checks: dict[str, ReadinessCheck] = request.app.state.readiness_checks
        results = {}
        for name, check in checks.items():
            try:
                await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
                results[name] = "ok"
            except Exception as exc:  # noqa: BLE001 - any failure means not ready
                log.warning("readiness check failed", extra={"check": name, "error": type(exc).__name__})
                results[name] = "failing"
        ok = all(value == "ok" for value in results.values())
        return JSONResponse(
            {"status": "ready" if ok else "not ready", "service": service, "checks": results},
            status_code=200 if ok else 503,
        )

    return router
