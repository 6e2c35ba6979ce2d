"""Settings every subgraph shares; each subgraph subclasses `ServiceSettings`.

Names follow the original design (`DATABASE_URL`, `SECRET_KEY`, `PORT`,
`AUTH_SERVICE_URL`); a subgraph may also accept its own prefixed name, for
example `AUTH_DATABASE_URL`, so that one environment can hold several services.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that are fine on a laptop and refused in production mode.
DEV_ROUTER_SECRET = "dev-router-secret-change-me"  # noqa: S105
DEV_SECRET_KEY = "dev-secret-key-change-me"  # noqa: S105


def service_field(default, *names: str, **kwargs):
    """A field read from the first of `names` that is set in the environment."""
    return Field(default, validation_alias=AliasChoices(*names), **kwargs)


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    environment: Literal["development", "production"] = service_field("development", "HEALTHCARE_ENV", "ENVIRONMENT")
    data_dir: Path = service_field(Path("var"), "HEALTHCARE_DATA_DIR", "DATA_DIR")
    secret_key: str = service_field(DEV_SECRET_KEY, "SECRET_KEY")
    router_secret: str = service_field(DEV_ROUTER_SECRET, "ROUTER_SECRET")
    router_secret_header: str = service_field("x-router-secret", "ROUTER_SECRET_HEADER")
    # During a rotation the subgraphs accept the old secret too, until every router sends the new one.
    router_secret_previous: str | None = service_field(None, "ROUTER_SECRET_PREVIOUS")
    # Proxies (the edge, the router) whose X-Forwarded-For is believed by `healthcare serve`:
    # uvicorn's forwarded_allow_ips ("10.0.0.0/8,127.0.0.1", "*"); unset: the peer address counts.
    trusted_proxies: str | None = service_field(None, "TRUSTED_PROXIES")
    auth_service_url: str = service_field("http://127.0.0.1:8001", "AUTH_SERVICE_URL")
    jwt_issuer: str = service_field("healthcare-auth", "JWT_ISSUER")
    jwt_audience: str = service_field("healthcare-api", "JWT_AUDIENCE")
    # Seconds between two JWKS refetches caused by an unknown `kid`.
    jwks_refetch_cooldown: float = service_field(30.0, "JWKS_REFETCH_COOLDOWN")
    # Seconds a service trusts its last answer to "is this token's account still active?".
    account_recheck_seconds: float = service_field(30.0, "ACCOUNT_RECHECK_SECONDS")
    db_pool_size: int = service_field(10, "DB_POOL_SIZE")
    db_echo: bool = service_field(False, "DB_ECHO")
    log_level: str = service_field("INFO", "LOG_LEVEL")
    cors_origins: list[str] = service_field([], "CORS_ORIGINS")
    max_body_bytes: int = service_field(1_000_000, "MAX_BODY_BYTES")
    # GraphQL document limits (kit/graphql_limits.py); introspection defaults to off in production.
    graphql_max_depth: int = service_field(15, "GRAPHQL_MAX_DEPTH")
    graphql_max_aliases: int = service_field(30, "GRAPHQL_MAX_ALIASES")
    graphql_max_tokens: int = service_field(5_000, "GRAPHQL_MAX_TOKENS")
    graphql_max_root_fields: int = service_field(20, "GRAPHQL_MAX_ROOT_FIELDS")
    # The most an operation may cost (kit/graphql_cost.py: objects, times list sizes); the router's
    # ROUTER_MAX_COST has the same default.
    graphql_max_cost: int = service_field(10_000, "GRAPHQL_MAX_COST", ge=1)
    graphql_introspection: bool | None = service_field(None, "GRAPHQL_INTROSPECTION")
    # Rate-limit counters (kit/ratelimit.py): in Redis when set, so replicas share one limit;
    # in process memory otherwise. The prefix keeps deployments sharing a Redis apart.
    redis_url: str | None = service_field(None, "REDIS_URL")
    rate_limit_prefix: str = service_field("healthcare:ratelimit:", "RATE_LIMIT_PREFIX")

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard_origin(cls, origins: list[str]) -> list[str]:
        # Browsers send credentials to the listed origins; "*" with credentials would let any site
        # act as a signed-in user (Starlette would reflect whatever Origin came).
        if any(origin.strip() == "*" for origin in origins):
            raise ValueError('CORS_ORIGINS cannot hold "*": list the browser origins that may call this service')
        return origins

    @property
    def is_production(self) -> bool:
        return self.environment == "production"
