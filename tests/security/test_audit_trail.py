"""The audit trail across services: `healthcare audit verify` checks every service's chain, and the
first per-service `audit_events` tables were carried over into the chain, not dropped with their rows."""

from __future__ import annotations

import os
import subprocess
import uuid
from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import create_engine, text

from subgraphs.appointments.app import MIGRATIONS as APPOINTMENT_MIGRATIONS
from subgraphs.cli.processes import healthcare_command
from subgraphs.kit.audit import verify_chain
from subgraphs.kit.db import sync_url
from subgraphs.kit.migrations import alembic_config

from ..system import in_process_system


def verify(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(healthcare_command("audit", "verify"), env=env, capture_output=True, text=True, timeout=120)


async def test_audit_verify_checks_every_service_that_keeps_a_trail(database_for, tmp_path, backend):
    async with in_process_system(database_for, tmp_path) as system:
        doctor, patient = await system.doctor(), await system.user("patient")
        appointment = await system.appointment(doctor, patient, "arrived")
        await system.prescription(doctor, appointment)
        urls = {name: app.state.db.url for name, app in system.apps.items() if name != "admin"}
    # The apps have stopped: their queued read events are written.
    env = {key: value for key, value in os.environ.items() if not key.endswith("DATABASE_URL")}
    env.update({f"{name.upper()}_DATABASE_URL": url for name, url in urls.items()}, HEALTHCARE_DATA_DIR=str(tmp_path))
    intact = verify(env)
    assert intact.returncode == 0, intact.stderr
    lines = intact.stdout.splitlines()
    for name in ("auth", "appointments", "prescriptions"):
        line = next(line for line in lines if line.startswith(f"{name}: "))
        assert line.endswith("audit events, chain intact") and int(line.split()[1]) > 0, line
    assert not any(line.startswith("admin") for line in lines)  # no tables, no trail

    engine = create_engine(sync_url(urls["appointments"]))
    try:
        with engine.begin() as connection:
            if backend == "postgresql":
                # Only a superuser bypassing the triggers can do this; the service's role cannot.
                connection.execute(text("SET session_replication_role = replica"))
            connection.execute(text("DELETE FROM appointments_audit_log WHERE seq = 2"))
    finally:
        engine.dispose()
    broken = verify(env)
    assert broken.returncode == 1
    assert "appointments: chain BROKEN at seq 3" in broken.stderr
    assert "auth: " in broken.stdout and "prescriptions: " in broken.stdout  # the others still checked


def test_events_of_the_first_audit_table_are_chained_onto_the_trail(tmp_path):
    url = f"sqlite:///{tmp_path}/appointments.db"
    config = alembic_config("appointments", APPOINTMENT_MIGRATIONS, url)
    command.upgrade(config, "0001")
    doctor, patient, appointment = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC).replace(microsecond=0)
    engine = create_engine(sync_url(url))
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO doctor_profiles (id, display_name, specialty, license_number, working_hours,"
                    " appointment_minutes, timezone, created_at, updated_at)"
                    " VALUES (:id, 'Dr', 'GP', 'L', '[]', 30, 'UTC', :now, :now)"
                ),
                {"id": doctor.hex, "now": now},
            )
            connection.execute(
                text(
                    "INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, status,"
                    " created_at, updated_at) VALUES (:id, :p, :d, :s, :e, 'booked', :now, :now)"
                ),
                {"id": appointment.hex, "p": patient.hex, "d": doctor.hex, "s": now, "e": now + timedelta(hours=1),
                 "now": now},
            )  # fmt: skip
            for offset, (actor, action, entity, entity_id) in enumerate(
                [
                    (doctor, "doctor.created", "doctor", doctor),
                    (patient, "appointment.booked", "appointment", appointment),
                    (doctor, "appointment.updated", "appointment", appointment),
                ]
            ):
                connection.execute(
                    text(
                        "INSERT INTO audit_events (id, at, actor_id, action, entity, entity_id, detail)"
                        " VALUES (:id, :at, :actor, :action, :entity, :entity_id, '{}')"
                    ),
                    {"id": uuid.uuid4().hex, "at": now + timedelta(seconds=offset), "actor": actor.hex,
                     "action": action, "entity": entity, "entity_id": entity_id.hex},
                )  # fmt: skip
        command.upgrade(config, "head")
        with engine.connect() as connection:
            assert verify_chain(connection, "appointments") == (3, None)
            rows = connection.execute(
                text("SELECT action, resource_type, resource_id, patient_id FROM appointments_audit_log ORDER BY seq")
            ).all()
            tables = {row[0] for row in connection.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))}
    finally:
        engine.dispose()
    assert [(action, kind) for action, kind, *_ in rows] == [
        ("create", "doctor"),
        ("create", "appointment"),
        ("update", "appointment"),
    ]
    # Whose record each event was about is looked up from the appointment itself.
    assert [uuid.UUID(str(row[3])) if row[3] else None for row in rows] == [None, patient, patient]
    assert "audit_events" not in tables
