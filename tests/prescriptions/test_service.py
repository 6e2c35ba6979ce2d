"""The service as deployed: settings from the environment, health, the exported SDL, the registry."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from subgraphs.cli.registry import SUBGRAPHS
from subgraphs.cli.schema import drift
from subgraphs.prescriptions.config import PrescriptionSettings

from .conftest import World


def test_settings_read_the_documented_environment(monkeypatch):
    for name, value in {
        "PRESCRIPTIONS_DATABASE_URL": "postgresql://db.internal/prescriptions",
        "DATABASE_URL": "postgresql://db.internal/shared",
        "PRESCRIPTIONS_PORT": "9003",
        "APPOINTMENT_SERVICE_URL": "http://appointments:8002",
        "APPOINTMENT_SERVICE_TIMEOUT": "0.5",
        "APPOINTMENT_SERVICE_RETRIES": "1",
        "APPOINTMENT_SERVICE_BREAKER_THRESHOLD": "7",
        "APPOINTMENT_SERVICE_BREAKER_COOLDOWN": "12",
    }.items():
        monkeypatch.setenv(name, value)
    settings = PrescriptionSettings()
    # The service's own name wins over the shared one.
    assert settings.database_url == "postgresql://db.internal/prescriptions"
    assert settings.port == 9003
    assert settings.appointment_service_url == "http://appointments:8002"
    assert (settings.appointment_timeout, settings.appointment_retries) == (0.5, 1)
    assert (settings.appointment_breaker_threshold, settings.appointment_breaker_cooldown) == (7, 12)


def test_settings_defaults(monkeypatch):
    for name in ("PRESCRIPTIONS_DATABASE_URL", "DATABASE_URL", "PRESCRIPTIONS_PORT", "PORT", "APPOINTMENT_SERVICE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = PrescriptionSettings()
    assert settings.database_url == "sqlite:///var/prescriptions.db"
    assert settings.port == 8003
    assert settings.appointment_service_url == "http://127.0.0.1:8002"


@pytest.mark.parametrize("name", ["APPOINTMENT_SERVICE_TIMEOUT", "APPOINTMENT_SERVICE_BREAKER_THRESHOLD"])
def test_nonsense_resilience_settings_are_refused(monkeypatch, name):
    monkeypatch.setenv(name, "0")
    with pytest.raises(ValidationError):
        PrescriptionSettings()


def test_the_subgraph_is_registered_and_its_sdl_is_exported():
    subgraph = SUBGRAPHS["prescriptions"]
    assert (subgraph.port, subgraph.settings_class) == (8003, "PrescriptionSettings")
    assert drift([subgraph]) == [], "run `healthcare schema export prescriptions`"


async def test_health_and_readiness(world: World):
    assert (await world.client.get("/health")).json()["status"] == "ok"
    ready = await world.client.get("/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok"}


async def test_the_openapi_document_lists_the_routes(world: World):
    paths = (await world.client.get("/openapi.json")).json()["paths"]
    assert set(paths) >= {"/prescriptions", "/prescriptions/{prescription_id}"}
    assert set(paths["/prescriptions"]) == {"get", "post"}
    assert set(paths["/prescriptions/{prescription_id}"]) == {"get", "put"}
