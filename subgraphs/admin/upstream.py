"""The services that own the data the admin service reports on, and how to ask them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from subgraphs.kit.errors import AppError, DependencyUnavailable
from subgraphs.kit.service_client import ServiceClient

from .config import AdminSettings


@dataclass
class Upstreams:
    auth: ServiceClient
    appointments: ServiceClient
    prescriptions: ServiceClient

    @classmethod
    def from_settings(cls, settings: AdminSettings, transports: dict[str, httpx.AsyncBaseTransport] | None = None):
        transports = transports or {}

        def client(name: str, url: str) -> ServiceClient:
            return ServiceClient(
                name,
                url,
                timeout=settings.upstream_timeout_seconds,
                retries=settings.upstream_retries,
                transport=transports.get(name),
            )

        return cls(
            auth=client("auth", settings.auth_service_url),
            appointments=client("appointments", settings.appointment_service_url),
            prescriptions=client("prescriptions", settings.prescription_service_url),
        )

    async def aclose(self) -> None:
        for client in (self.auth, self.appointments, self.prescriptions):
            await client.aclose()


class UpstreamRefused(AppError):
    """The owning service answered with an error of its own; its status and code pass through."""

    def __init__(self, status: int, code: str, detail: str, extensions: dict[str, Any]) -> None:
        super().__init__(detail, **extensions)
        self.status = status  # type: ignore[misc]
        self.code = code  # type: ignore[misc]


def json_or_raise(response: httpx.Response) -> Any:
    """The body of a 2xx answer; the owning service's own error otherwise."""
    if response.is_success:
        return response.json()
    try:
        problem = response.json()
    except ValueError:
        raise DependencyUnavailable("An upstream service answered unexpectedly.") from None
    extras = {k: v for k, v in problem.items() if k not in {"type", "title", "status", "detail", "code"}}
    raise UpstreamRefused(
        response.status_code, problem.get("code", "UPSTREAM_ERROR"), problem.get("detail", ""), extras
    )
