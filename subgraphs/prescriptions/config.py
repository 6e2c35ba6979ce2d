from __future__ import annotations

from pydantic import Field

from subgraphs.kit.settings import ServiceSettings, service_field


class PrescriptionSettings(ServiceSettings):
    database_url: str = service_field("sqlite:///var/prescriptions.db", "PRESCRIPTIONS_DATABASE_URL", "DATABASE_URL")
    port: int = service_field(8003, "PRESCRIPTIONS_PORT", "PORT")

    # Issuing a prescription asks the appointment service whether the caller is
    # that appointment's doctor and the visit took place (docs/prescriptions.md).
    appointment_service_url: str = service_field("http://127.0.0.1:8002", "APPOINTMENT_SERVICE_URL")
    # Seconds one attempt may take; a hanging service costs the caller this once (timeouts are not retried).
    appointment_timeout: float = Field(2.0, gt=0, le=30, validation_alias="APPOINTMENT_SERVICE_TIMEOUT")
    # Extra attempts after a refused connection or a 5xx, with exponential backoff and jitter.
    appointment_retries: int = Field(2, ge=0, le=5, validation_alias="APPOINTMENT_SERVICE_RETRIES")
    appointment_backoff_base: float = Field(0.05, ge=0, le=5, validation_alias="APPOINTMENT_SERVICE_BACKOFF")
    appointment_backoff_cap: float = Field(1.0, ge=0, le=30, validation_alias="APPOINTMENT_SERVICE_BACKOFF_CAP")
    # Consecutive failed calls that open the breaker, and seconds it stays open before one probe.
    appointment_breaker_threshold: int = Field(
        5, ge=1, le=1000, validation_alias="APPOINTMENT_SERVICE_BREAKER_THRESHOLD"
    )
    appointment_breaker_cooldown: float = Field(
        30.0, ge=0, le=3600, validation_alias="APPOINTMENT_SERVICE_BREAKER_COOLDOWN"
    )

    # How long an `Idempotency-Key` is remembered; a repeat after that runs again.
    idempotency_ttl_hours: int = Field(24, ge=1, le=24 * 30, validation_alias="IDEMPOTENCY_TTL_HOURS")
