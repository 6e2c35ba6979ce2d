from __future__ import annotations

from pydantic import Field

from subgraphs.kit.settings import ServiceSettings, service_field


class AppointmentSettings(ServiceSettings):
    database_url: str = service_field("sqlite:///var/appointments.db", "APPOINTMENTS_DATABASE_URL", "DATABASE_URL")
    port: int = service_field(8002, "APPOINTMENTS_PORT", "PORT")

    # How long an `Idempotency-Key` is remembered; a repeat after that runs again.
    idempotency_ttl_hours: int = Field(24, ge=1, le=24 * 30, validation_alias="IDEMPOTENCY_TTL_HOURS")

    # Bookings per patient per window (every attempt counts), then 429 with Retry-After.
    booking_max_per_patient: int = Field(20, ge=1, validation_alias="BOOKING_MAX_PER_PATIENT")
    booking_window_seconds: int = Field(3600, ge=1, validation_alias="BOOKING_WINDOW_SECONDS")
