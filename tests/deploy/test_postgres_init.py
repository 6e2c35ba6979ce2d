"""deploy/postgres/init-databases.sh, the script the postgres container runs on a fresh volume,
run against the test PostgreSQL (TEST_POSTGRES_URL): one role and one database per service, the
service's migrations run as that role, and no role reaches another service's database."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid

import psycopg2
import pytest
from sqlalchemy.engine import make_url

from subgraphs.cli import registry
from subgraphs.kit.db import execute_outside_transaction
from subgraphs.kit.migrations import upgrade

from ..databases import POSTGRES_URL, require_postgres_or_skip
from .helpers import ROOT

SCRIPT = ROOT / "deploy" / "postgres" / "init-databases.sh"


def admin_execute(*statements: str) -> None:
    execute_outside_transaction(POSTGRES_URL, *statements, connect_timeout=5)


@pytest.fixture
def databases():
    """Names for this test (suffixed, so they never meet a real one), dropped afterwards."""
    require_postgres_or_skip()
    if shutil.which("psql") is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("psql is needed to run deploy/postgres/init-databases.sh", pytrace=False)
        pytest.skip("psql is not installed")
    suffix = uuid.uuid4().hex[:8]
    names = {service: f"{service}_{suffix}" for service, sub in registry.SUBGRAPHS.items() if sub.owns_tables}
    yield names
    for name in names.values():
        admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'DROP ROLE IF EXISTS "{name}"')


def run_script(names: dict[str, str], passwords: dict[str, str]) -> subprocess.CompletedProcess:
    url = make_url(POSTGRES_URL)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        # What the postgres image provides to its init scripts, pointed at the test server.
        "POSTGRES_USER": url.username or "postgres",
        "PGHOST": url.host or "127.0.0.1",
        "PGPORT": str(url.port or 5432),
        "HEALTHCARE_DATABASES": " ".join(names.values()),
        **({"PGPASSWORD": url.password} if url.password else {}),
    }
    for name, password in passwords.items():
        env[f"{name.upper()}_DB_PASSWORD"] = password
    return subprocess.run(["/bin/sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False)


def role_url(role: str, password: str, database: str) -> str:
    return (
        make_url(POSTGRES_URL)
        .set(username=role, password=password, database=database)
        .render_as_string(hide_password=False)
    )


def test_each_service_gets_its_own_role_and_database_and_migrates_in_it(databases):
    # A password that is a syntax error unless quoted as a literal (psql's :'variable' does).
    passwords = {name: f"pw-{uuid.uuid4().hex[:6]}' \"x\\" for name in databases.values()}

    result = run_script(databases, passwords)

    assert result.returncode == 0, result.stderr
    for service, name in databases.items():
        url = role_url(name, passwords[name], name)
        upgrade(service, registry.SUBGRAPHS[service].migrations_dir, url)  # what `healthcare serve` runs first
        connection = psycopg2.connect(url, connect_timeout=5)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_user, current_database()")
                assert cursor.fetchone() == (name, name)
                cursor.execute(
                    "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = %s", (name,)
                )
                assert cursor.fetchone()[0] >= 2  # its tables, owned by its role
        finally:
            connection.close()


def test_a_service_role_cannot_open_another_services_database(databases):
    passwords = {name: uuid.uuid4().hex for name in databases.values()}
    assert run_script(databases, passwords).returncode == 0
    auth, appointments = databases["auth"], databases["appointments"]

    with pytest.raises(psycopg2.OperationalError, match="permission denied"):
        psycopg2.connect(role_url(auth, passwords[auth], appointments), connect_timeout=5)


def test_the_script_refuses_to_run_without_a_password(databases):
    passwords = {name: uuid.uuid4().hex for name in list(databases.values())[:-1]}  # the last one missing

    result = run_script(databases, passwords)

    assert result.returncode != 0
    assert f"{list(databases.values())[-1].upper()}_DB_PASSWORD is not set" in result.stderr
