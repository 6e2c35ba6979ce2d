from __future__ import annotations

import pytest

from ..e2e.stack import require_router_packages

# What test_router_config.py did with the Apollo Router config schema, for the summary.
APOLLO_SCHEMA_USE: list[str] = []


@pytest.fixture(scope="session")
def router_packages() -> None:
    """Composition and the router.yaml validator run on Node with router/node_modules
    (installed here if missing, except in CI, where a missing install is a failure)."""
    require_router_packages()


def pytest_terminal_summary(terminalreporter):
    if APOLLO_SCHEMA_USE:
        terminalreporter.write_line(APOLLO_SCHEMA_USE[-1])
