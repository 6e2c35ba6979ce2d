from __future__ import annotations

import pytest

from ..databases import POSTGRES_URL, postgres_available


@pytest.fixture(scope="session")
def bench_database() -> tuple[str, str]:
    """(kind, base URL): PostgreSQL when it answers (the benchmark's default), else SQLite."""
    if postgres_available() is None:
        return "postgresql", POSTGRES_URL
    return "sqlite", POSTGRES_URL
