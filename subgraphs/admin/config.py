from __future__ import annotations

from pydantic import Field

from subgraphs.kit.settings import ServiceSettings, service_field


class AdminSettings(ServiceSettings):
    port: int = service_field(8004, "ADMIN_PORT", "PORT")
    appointment_service_url: str = service_field("http://127.0.0.1:8002", "APPOINTMENT_SERVICE_URL")
    prescription_service_url: str = service_field("http://127.0.0.1:8003", "PRESCRIPTION_SERVICE_URL")
    # Calls to the services that own the data.
    upstream_timeout_seconds: float = Field(3.0, gt=0, validation_alias="UPSTREAM_TIMEOUT_SECONDS")
    upstream_retries: int = Field(2, ge=0, le=5, validation_alias="UPSTREAM_RETRIES")
