"""Readiness follows the database: a real service whose PostgreSQL database stops accepting
connections answers `/ready` 503 (and its routes 503, never 500) and recovers by itself when the
database is back, without a restart."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import psycopg2
import pytest
from sqlalchemy.engine import make_url

from subgraphs.appointments.app import MIGRATIONS
from subgraphs.cli.processes import ManagedProcess, free_port, healthcare_command
from tests.databases import POSTGRES_URL, PostgresDatabases, require_postgres_or_skip
from tests.e2e.stack import base_env

from .fakes import Dependencies

pytestmark = pytest.mark.e2e


def admin(sql: str) -> None:
    connection = psycopg2.connect(POSTGRES_URL)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


def poll(check, attempts: int = 100, interval: float = 0.2):
    """`check()`'s first truthy answer; fails after `attempts` tries (a count, not a deadline)."""
    for _ in range(attempts):
        answer = check()
        if answer:
            return answer
        time.sleep(interval)
    raise AssertionError(f"condition not met after {attempts} attempts")


@pytest.fixture
def database():
    require_postgres_or_skip()
    databases = PostgresDatabases()
    url = databases.url_for("appointments", MIGRATIONS)
    yield url
    admin(f'ALTER DATABASE "{make_url(url).database}" WITH ALLOW_CONNECTIONS true')
    databases.drop_all()


def test_ready_follows_the_database_and_recovers_without_a_restart(tmp_path, database):
    name = make_url(database).database
    with Dependencies() as deps:
        port = free_port()
        service = ManagedProcess(
            name="appointments",
            command=healthcare_command("serve", "appointments", "--port", str(port)),
            env={
                **base_env(),
                "HEALTHCARE_DATA_DIR": str(tmp_path),
                "APPOINTMENTS_DATABASE_URL": database,
                "AUTH_SERVICE_URL": deps.url,
                "PYTHONUNBUFFERED": "1",
            },
            ready_url=f"http://127.0.0.1:{port}/ready",
        )
        service.start()
        try:
            service.wait_ready(90)
            base = f"http://127.0.0.1:{port}"
            headers = {"authorization": f"Bearer {deps.token(uuid.uuid4(), 'patient')}"}
            assert httpx.get(f"{base}/appointments", headers=headers).status_code == 200
            pid = service.pid

            # The database goes away: no new connection is accepted, the open ones are cut.
            admin(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
            admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
            mark = service.mark()

            down = poll(lambda: (r := httpx.get(f"{base}/ready")).status_code == 503 and r)
            assert down.json()["checks"]["database"] == "failing"
            assert httpx.get(f"{base}/health").status_code == 200  # the process itself is fine
            refused = httpx.get(f"{base}/appointments", headers=headers)
            assert refused.status_code == 503, refused.text
            assert refused.json()["code"] == "DEPENDENCY_UNAVAILABLE"
            assert refused.headers["retry-after"] == "1"

            # It comes back: the service notices by itself.
            admin(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
            poll(lambda: httpx.get(f"{base}/ready").status_code == 200)
            assert httpx.get(f"{base}/appointments", headers=headers).status_code == 200
            assert service.running and service.pid == pid

            logged = [json.loads(line) for line in service.lines_since(mark) if line.startswith("{")]
            assert not [entry for entry in logged if entry["level"] == "error" or "exc" in entry]
            assert any(entry.get("msg") == "database unavailable" for entry in logged)
        finally:
            service.stop()
