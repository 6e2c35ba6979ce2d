"""The `healthcare` command, run as a user runs it: real processes, real files."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from subgraphs.cli.processes import ManagedProcess, healthcare_command

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.endswith("DATABASE_URL")}
    env.update(
        HEALTHCARE_DATA_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path}/auth.db",
        PASSWORD_TIME_COST="1",
        PASSWORD_MEMORY_KIB="1024",
        **extra,
    )
    return env


def call(url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_serve_runs_migrations_answers_and_stops_cleanly_on_sigterm(tmp_path):
    port = free_port()
    process = ManagedProcess(
        name="auth",
        command=healthcare_command("serve", "auth", "--port", str(port)),
        env=env_for(tmp_path),
        ready_url=f"http://127.0.0.1:{port}/ready",
    )
    process.start()
    try:
        process.wait_ready(timeout=60)
        base = f"http://127.0.0.1:{port}"
        status, _ = call(
            f"{base}/auth/register", {"email": "real@example.org", "password": "a real passphrase", "full_name": "Real"}
        )
        assert status == 201
        status, tokens = call(f"{base}/auth/login", {"email": "real@example.org", "password": "a real passphrase"})
        assert status == 200
        status, profile = call(f"{base}/users/profile", headers={"authorization": f"Bearer {tokens['access_token']}"})
        assert (status, profile["email"]) == (200, "real@example.org")
    finally:
        process.stop()
    # uvicorn re-raises SIGTERM after its graceful shutdown, so the status says "terminated";
    # the log says the shutdown ran to the end.
    assert process.process.returncode in (0, -15)
    assert any("Application shutdown complete" in line for line in process.lines)
    logs = [json.loads(line) for line in process.lines if line.startswith("{")]
    access = [entry for entry in logs if entry.get("logger") == "access"]
    assert access and all(entry["service"] == "auth" and entry["request_id"] for entry in access)
    assert not any("a real passphrase" in line or tokens["access_token"] in line for line in process.lines)


def run_cli(*args: str, env: dict, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        healthcare_command(*args), env=env, input=stdin, capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def test_create_admin_makes_an_admin_who_can_sign_in(tmp_path):
    env = env_for(tmp_path)
    created = run_cli(
        "create-admin",
        "--email",
        "root@example.org",
        "--full-name",
        "Root",
        "--password-stdin",
        env=env,
        stdin="an admin passphrase\n",
    )
    assert created.returncode == 0, created.stderr
    again = run_cli(
        "create-admin",
        "--email",
        "ROOT@example.org",
        "--full-name",
        "Root",
        "--password-stdin",
        env=env,
        stdin="an admin passphrase\n",
    )
    assert again.returncode == 2 and "already exists" in again.stderr
    weak = run_cli(
        "create-admin", "--email", "b@example.org", "--full-name", "B", "--password-stdin", env=env, stdin="short\n"
    )
    assert weak.returncode == 2 and "password" in weak.stderr

    import sqlite3

    with sqlite3.connect(tmp_path / "auth.db") as db:
        rows = db.execute("SELECT email, role FROM users").fetchall()
    assert rows == [("root@example.org", "admin")]


def test_migrate_then_schema_check(tmp_path):
    env = env_for(tmp_path)
    migrated = run_cli("migrate", "auth", env=env)
    assert migrated.returncode == 0, migrated.stderr
    import sqlite3

    with sqlite3.connect(tmp_path / "auth.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version_auth").fetchone()[0]
    check = run_cli("schema", "check", "auth", env=env)
    assert check.returncode == 0, check.stderr


def test_schema_check_fails_on_drift(tmp_path, monkeypatch):
    from subgraphs.cli import registry, schema

    (tmp_path / "auth.graphql").write_text("type Query { stale: Int }\n")
    problems = schema.drift([registry.SUBGRAPHS["auth"]], directory=tmp_path)
    assert len(problems) == 1 and "stale" in problems[0]


@pytest.mark.skipif(sys.platform != "linux", reason="process groups as on Linux")
def test_unknown_subgraph_is_refused(tmp_path):
    result = run_cli("migrate", "billing", env=env_for(tmp_path))
    assert result.returncode != 0 and "unknown subgraph" in result.stderr


@pytest.mark.parametrize("trusted", [True, False])
def test_serve_believes_x_forwarded_for_only_from_trusted_proxies(tmp_path, trusted):
    """Behind the edge every REST client arrives from one address: per-address login throttling
    must count the address the edge saw, and only when the edge is trusted."""
    port = free_port()
    extra = {"LOGIN_MAX_FAILURES_PER_ADDRESS": "2", "LOGIN_MAX_FAILURES_PER_ACCOUNT": "100"}
    if trusted:
        extra["TRUSTED_PROXIES"] = "127.0.0.1"
    process = ManagedProcess(
        name="auth",
        command=healthcare_command("serve", "auth", "--port", str(port)),
        env=env_for(tmp_path, **extra),
        ready_url=f"http://127.0.0.1:{port}/ready",
    )
    process.start()
    try:
        process.wait_ready(timeout=60)
        login = f"http://127.0.0.1:{port}/auth/login"
        wrong = {"email": "x@example.org", "password": "wrong password"}
        for _ in range(2):
            assert call(login, wrong, {"x-forwarded-for": "203.0.113.7"})[0] == 401
        assert call(login, wrong, {"x-forwarded-for": "203.0.113.7"})[0] == 429
        other_client = call(login, wrong, {"x-forwarded-for": "198.51.100.9"})[0]
    finally:
        process.stop()
    # Trusted: another client is another address. Untrusted: the header is ignored, so both
    # "clients" are the one peer and share its limit.
    assert other_client == (401 if trusted else 429)
