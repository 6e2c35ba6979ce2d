"""Who touched which record: every profile read and write leaves one event, chained."""

from __future__ import annotations

import sqlite3
import subprocess

import pytest
from sqlalchemy import create_engine, text

from subgraphs.cli.processes import healthcare_command
from subgraphs.kit.audit import audit_table_name, verify_chain
from subgraphs.kit.db import sync_url

from .conftest import AuthApi

TABLE = audit_table_name("auth")
ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id } } }"


async def events(auth: AuthApi) -> list[dict]:
    await auth.app.state.audit.flush()
    rows, _total = await auth.app.state.audit.search(limit=1000, offset=0)
    # Reads are written in batches after the fact, so the chain's order is not the order of
    # events; their time is.
    return sorted(rows, key=lambda row: (row["occurred_at"], row["seq"]))


async def admin_token(auth: AuthApi) -> str:
    email = auth.new_email("admin")
    await auth.app.state.users.create_admin(email, "admin passphrase", "Ada Admin")
    return (await auth.login(email, "admin passphrase"))["access_token"]


async def test_reads_and_writes_leave_one_event_each(auth: AuthApi):
    user, token = await auth.user_with_token()
    other = await auth.register()
    await auth.client.get("/users/profile", headers={**auth.bearer(token), "x-request-id": "req-read-1"})
    await auth.client.put("/users/profile", json={"full_name": "Renamed"}, headers=auth.bearer(token))
    await auth.gql(ENTITIES, {"r": [{"__typename": "User", "id": other["id"]}]}, token=token)

    trail = await events(auth)
    summary = [(e["action"], e["resource_id"], e["outcome"]) for e in trail]
    assert summary == [
        ("create", user["id"], "allowed"),
        ("create", other["id"], "allowed"),
        ("read", user["id"], "allowed"),
        ("update", user["id"], "allowed"),
        ("read", other["id"], "denied"),
    ]
    read = trail[2]
    assert read["actor_id"] is not None and str(read["actor_id"]) == user["id"]
    assert read["actor_role"] == "patient" and str(read["patient_id"]) == user["id"]
    assert read["request_id"] == "req-read-1"
    flat = str(trail)
    assert user["password"] not in flat and token not in flat and "Renamed" not in flat


async def test_a_failed_write_leaves_no_event(auth: AuthApi, monkeypatch):
    from subgraphs.auth.users import service

    user, token = await auth.user_with_token()

    async def fail(*_args):
        raise RuntimeError("boom")

    monkeypatch.setattr(service.tokens_repository, "revoke_all_for_user", fail)
    change = {"password": "another passphrase", "current_password": user["password"]}
    assert (await auth.client.put("/users/profile", json=change, headers=auth.bearer(token))).status_code == 500
    assert [e["action"] for e in await events(auth)] == ["create"]


async def test_admins_read_the_trail_patients_see_who_read_their_records(auth: AuthApi):
    patient, patient_token = await auth.user_with_token()
    token = await admin_token(auth)
    await auth.gql(ENTITIES, {"r": [{"__typename": "User", "id": patient["id"]}]}, token=token)
    await auth.app.state.audit.flush()

    mine = (await auth.client.get("/audit", headers=auth.bearer(patient_token))).json()
    assert {e["actor_role"] for e in mine["items"]} >= {"admin"}
    assert all(e["patient_id"] == patient["id"] for e in mine["items"])
    # Filters cannot widen what a patient sees.
    other = await auth.register()
    sneaky = await auth.client.get("/audit", params={"patient_id": other["id"]}, headers=auth.bearer(patient_token))
    assert all(e["patient_id"] == patient["id"] for e in sneaky.json()["items"])

    everything = (await auth.client.get("/audit", headers=auth.bearer(token))).json()
    assert everything["total"] > mine["total"]
    assert (await auth.client.get("/audit")).status_code == 401


async def test_the_chain_detects_a_changed_row(auth: AuthApi, backend):
    _user, token = await auth.user_with_token()
    await auth.client.get("/users/profile", headers=auth.bearer(token))
    await auth.app.state.audit.flush()
    engine = create_engine(sync_url(auth.app.state.db.url))
    try:
        with engine.connect() as connection:
            checked, broken = verify_chain(connection, "auth")
            assert (checked, broken) == (2, None)
        with engine.begin() as connection:
            if backend == "postgresql":
                # Only a superuser bypassing triggers can do this; the service's role cannot.
                connection.execute(text("SET session_replication_role = replica"))
            connection.execute(text(f"UPDATE {TABLE} SET action = 'create' WHERE action = 'read'"))
        with engine.connect() as connection:
            assert verify_chain(connection, "auth")[1] == 2
    finally:
        engine.dispose()


# Append-only is enforced by PostgreSQL triggers; on SQLite the hash chain shows tampering.
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    "statement", [f"UPDATE {TABLE} SET outcome = 'denied'", f"DELETE FROM {TABLE}", f"TRUNCATE {TABLE}"]
)
async def test_postgres_refuses_to_change_the_audit_log(auth: AuthApi, statement):
    await auth.register()
    await auth.app.state.audit.flush()
    engine = create_engine(sync_url(auth.app.state.db.url))
    try:
        with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


def test_audit_verify_command_catches_a_removed_row(tmp_path):
    from ..cli.test_commands import env_for

    env = env_for(tmp_path)
    for n in range(3):
        created = subprocess.run(
            healthcare_command("create-admin", "--email", f"a{n}@example.org", "--full-name", "A", "--password-stdin"),
            env=env,
            input="an admin passphrase\n",
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert created.returncode == 0, created.stderr
    ok = subprocess.run(
        healthcare_command("audit", "verify", "auth"), env=env, capture_output=True, text=True, timeout=60
    )
    assert ok.returncode == 0 and "3 audit events, chain intact" in ok.stdout

    with sqlite3.connect(tmp_path / "auth.db") as db:
        db.execute(f"DELETE FROM {TABLE} WHERE seq = 2")
    broken = subprocess.run(
        healthcare_command("audit", "verify", "auth"), env=env, capture_output=True, text=True, timeout=60
    )
    assert broken.returncode == 1 and "BROKEN at seq 3" in broken.stderr
