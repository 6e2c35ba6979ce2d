"""Real databases for tests: a migrated SQLite file or PostgreSQL database per service.

Each service is migrated once per test session; every test then starts from
empty tables (a fresh copy of the SQLite file, or TRUNCATE on PostgreSQL).
PostgreSQL is required when CI is set, and skipped with a message elsewhere
when it cannot be reached.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy.engine import make_url

from subgraphs.kit.db import execute_outside_transaction
from subgraphs.kit.migrations import upgrade

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
POSTGRES_REQUIRED = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def postgres_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        psycopg2.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg2.Error as exc:
        return str(exc).strip().splitlines()[0]
    return None


class PostgresDatabases:
    """One database per service for the test session, dropped at its end."""

    def __init__(self) -> None:
        self.suffix = uuid.uuid4().hex[:8]
        self.created: list[str] = []
        self.migrated: set[str] = set()

    def _admin_execute(self, *statements: str) -> None:
        execute_outside_transaction(POSTGRES_URL, *statements)

    def url_for(self, service: str, migrations_dir: Path) -> str:
        name = f"hc_test_{service}_{self.suffix}"
        url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        if service not in self.migrated:
            self._admin_execute(f'CREATE DATABASE "{name}"')
            self.created.append(name)
            upgrade(service, migrations_dir, url)
            self.migrated.add(service)
        return url

    def empty(self, label: str) -> str:
        """A new database with nothing in it, dropped at the end of the session."""
        name = f"hc_test_{label}_{self.suffix}"
        self._admin_execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    def truncate(self, url: str) -> None:
        connection = psycopg2.connect(url)
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename NOT LIKE 'alembic_version%'"
                )
                tables = [row[0] for row in cursor.fetchall()]
                if tables:
                    # The audit log refuses TRUNCATE by trigger; a test database may start over.
                    cursor.execute("SET session_replication_role = replica")
                    cursor.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
        finally:
            connection.close()

    def drop_all(self) -> None:
        self._admin_execute(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in self.created))


class SqliteTemplates:
    """A migrated SQLite file per service, copied for each test."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.templates: dict[str, Path] = {}

    def url_for(self, service: str, migrations_dir: Path, test_dir: Path) -> str:
        template = self.templates.get(service)
        if template is None:
            template = self.directory / f"{service}.template.db"
            upgrade(service, migrations_dir, f"sqlite:///{template}")
            self.templates[service] = template
        target = test_dir / f"{service}.db"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"


def require_postgres_or_skip() -> None:
    reason = postgres_available()
    if reason is None:
        return
    if POSTGRES_REQUIRED:
        pytest.fail(f"PostgreSQL is required in CI but unreachable at {POSTGRES_URL}: {reason}")
    pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL} ({reason}); set TEST_POSTGRES_URL to run these")
