from __future__ import annotations

from pydantic import Field

from subgraphs.kit.settings import ServiceSettings, service_field


class AuthSettings(ServiceSettings):
    database_url: str = service_field("sqlite:///var/auth.db", "AUTH_DATABASE_URL", "DATABASE_URL")
    port: int = service_field(8001, "AUTH_PORT", "PORT")
    # Asked which patients are in a doctor's care (users/care_http.py).
    appointment_service_url: str = service_field("http://127.0.0.1:8002", "APPOINTMENT_SERVICE_URL")

    # One or more PEM private keys (EC P-256); the first signs, all are published.
    # When unset, keys are read from (or generated into) `<data_dir>/keys/auth/`.
    jwt_private_keys: str | None = service_field(None, "JWT_PRIVATE_KEYS")
    access_token_minutes: int = Field(15, ge=1, le=15, validation_alias="ACCESS_TOKEN_MINUTES")
    refresh_token_days: int = Field(14, ge=1, le=90, validation_alias="REFRESH_TOKEN_DAYS")

    # argon2id cost (OWASP's minimum: 19 MiB, 2 passes). Tests lower it.
    password_time_cost: int = Field(2, ge=1, validation_alias="PASSWORD_TIME_COST")
    password_memory_kib: int = Field(19_456, ge=1024, validation_alias="PASSWORD_MEMORY_KIB")

    # Failed logins allowed per window before 429, per account and per client address.
    login_max_failures_per_account: int = Field(5, ge=1, validation_alias="LOGIN_MAX_FAILURES_PER_ACCOUNT")
    login_max_failures_per_address: int = Field(20, ge=1, validation_alias="LOGIN_MAX_FAILURES_PER_ADDRESS")
    login_failure_window_seconds: int = Field(900, ge=1, validation_alias="LOGIN_FAILURE_WINDOW_SECONDS")

    # Registrations per client address per window (every attempt counts), then 429.
    registration_max_per_address: int = Field(30, ge=1, validation_alias="REGISTRATION_MAX_PER_ADDRESS")
    registration_window_seconds: int = Field(3600, ge=1, validation_alias="REGISTRATION_WINDOW_SECONDS")
