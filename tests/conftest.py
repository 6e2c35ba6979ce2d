from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import event

from subgraphs.kit.settings import DEV_ROUTER_SECRET

from .databases import PostgresDatabases, SqliteTemplates, require_postgres_or_skip

ROUTER_HEADERS = {"x-router-secret": DEV_ROUTER_SECRET}


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory) -> SqliteTemplates:
    return SqliteTemplates(tmp_path_factory.mktemp("sqlite-templates"))


@pytest.fixture(scope="session")
def postgres_databases():
    require_postgres_or_skip()
    databases = PostgresDatabases()
    yield databases
    databases.drop_all()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def database_for(backend, request, tmp_path, sqlite_templates):
    """`database_for(service, migrations_dir)` -> URL of an empty, migrated database."""
    truncate: list[str] = []

    def make(service: str, migrations_dir) -> str:
        if backend == "sqlite":
            return sqlite_templates.url_for(service, migrations_dir, tmp_path)
        databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
        url = databases.url_for(service, migrations_dir)
        databases.truncate(url)
        truncate.append(url)
        return url

    yield make


async def running(app) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client for `app`, with its lifespan run around it."""
    async with app.router.lifespan_context(app):
        # Like a real server: an unhandled error is a 500 response, not an exception in the test.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


class SqlCounter:
    """Counts the SQL statements an engine runs (transaction control excluded)."""

    def __init__(self, engine) -> None:
        self.statements: list[str] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._record)

    def _record(self, _conn, _cursor, statement, *_args) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if verb in {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}:
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)

    def reset(self) -> None:
        self.statements.clear()
