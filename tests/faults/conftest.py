"""Fault tests: the whole stack as real processes (four `healthcare serve` subgraphs on PostgreSQL
databases of their own, Hive Gateway in front, loopback ports only), faults injected one at a
time, each followed by a consistency check. The results table is printed at the end of the run
(and kept in docs/operations.md)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.databases import PostgresDatabases, require_postgres_or_skip
from tests.e2e.stack import require_router_packages
from tests.observability.live import Clinic, LiveStack, new_live_stack

from .results import RESULTS, table

# What the faults need from the services: fast recovery of the breaker, short dependency deadlines.
FAULT_ENV = {
    "APPOINTMENT_SERVICE_TIMEOUT": "2",
    "APPOINTMENT_SERVICE_RETRIES": "1",
    "APPOINTMENT_SERVICE_BREAKER_THRESHOLD": "3",
    "APPOINTMENT_SERVICE_BREAKER_COOLDOWN": "1",
    "DB_POOL_SIZE": "5",
}


@pytest.fixture(scope="package")
def fault_stack(tmp_path_factory) -> Iterator[LiveStack]:
    require_postgres_or_skip()
    require_router_packages()
    databases = PostgresDatabases()
    stack = new_live_stack(tmp_path_factory.mktemp("faults"), postgres=databases, **FAULT_ENV)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        databases.drop_all()


@pytest.fixture
def clinic(fault_stack) -> Iterator[Clinic]:
    clinic = Clinic(fault_stack)
    try:
        yield clinic
    finally:
        clinic.close()


def pytest_terminal_summary(terminalreporter) -> None:
    if RESULTS:
        terminalreporter.write_sep("=", "fault results")
        for line in table().splitlines():
            terminalreporter.write_line(line)
