from __future__ import annotations

from pydantic import Field

from subgraphs.kit.settings import ServiceSettings, service_field


class AppointmentSettings(ServiceSettings):
    database_url: str = service_field("sqlite:///var/appointments.db", "APPOINTMENTS_DATABASE_URL", "DATABASE_URL")
    port: int = service_field(8002, "APPOINTMENTS_PORT", "PORT")

    # How long an `Idempotency-Key` is remembered; a repeat after that runs again.
    idempotency_ttl_hours: int = Field(24, ge=1, le=24 * 30, validation_alias="IDEMPOTENCY_TTL_HOURS")
