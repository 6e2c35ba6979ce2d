"""SIGTERM: a real service stops taking new connections, finishes the request in flight, then
closes its pools and exits."""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import socket
import sqlite3
import time
import uuid

import httpx
import pytest

from subgraphs.cli.processes import ManagedProcess, free_port, healthcare_command
from tests.e2e.stack import base_env

from .fakes import Dependencies

pytestmark = pytest.mark.e2e


def refuses_connections(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        try:
            sock.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return True
        return False


def test_sigterm_finishes_the_request_in_flight_refuses_new_ones_and_closes_pools(tmp_path):
    with Dependencies() as deps:
        port = free_port()
        database = tmp_path / "prescriptions.db"
        env = {
            **base_env(),
            "HEALTHCARE_DATA_DIR": str(tmp_path),
            "PRESCRIPTIONS_DATABASE_URL": f"sqlite:///{database}",
            "AUTH_SERVICE_URL": deps.url,
            "APPOINTMENT_SERVICE_URL": deps.url,
            # The held answer, not a timeout, decides when the request finishes.
            "APPOINTMENT_SERVICE_TIMEOUT": "30",
            "PYTHONUNBUFFERED": "1",
        }
        service = ManagedProcess(
            name="prescriptions",
            command=healthcare_command("serve", "prescriptions", "--port", str(port)),
            env=env,
            ready_url=f"http://127.0.0.1:{port}/ready",
        )
        service.start()
        try:
            service.wait_ready(90)
            doctor_id = uuid.uuid4()
            appointment_id = deps.eligible_appointment(doctor_id)
            headers = {"authorization": f"Bearer {deps.token(doctor_id, 'doctor')}", "x-request-id": "slow-one"}
            body = {"appointment_id": appointment_id, "medication": "Amoxicillin 500 mg", "dosage": "1 capsule",
                    "frequency": "3 times a day"}  # fmt: skip
            deps.hold_appointments = True

            with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
                in_flight = pool.submit(
                    httpx.post, f"http://127.0.0.1:{port}/prescriptions", json=body, headers=headers, timeout=90
                )
                # The request is inside the service now, waiting on its dependency.
                assert deps.appointment_asked.wait(30), service.tail()

                os.killpg(service.pid, signal.SIGTERM)
                attempts = 0
                while not refuses_connections(port):
                    attempts += 1
                    assert attempts < 100, "the service kept accepting connections after SIGTERM"
                    time.sleep(0.1)
                assert service.running, "the service exited with a request in flight"
                assert not in_flight.done()

                deps.release.set()
                response = in_flight.result(timeout=60)

            assert response.status_code == 201, response.text
            # uvicorn re-raises the SIGTERM it caught once it has shut down cleanly, so a supervisor
            # sees the signal: killed by SIGTERM after the shutdown log lines, never SIGKILLed.
            assert service.process.wait(30) in (0, -signal.SIGTERM)
            service._drain_output()
            created = response.json()
            with sqlite3.connect(database) as connection:
                rows = connection.execute("SELECT id FROM prescriptions").fetchall()
            assert [uuid.UUID(row[0]) for row in rows] == [uuid.UUID(created["id"])]
            logged = [json.loads(line) for line in service.lines if line.startswith("{")]
            shutdown = [entry for entry in logged if entry.get("shutdown") == "prescriptions"]
            assert len(shutdown) == 1, service.tail(40)
            served = [
                entry for entry in logged if entry.get("logger") == "access" and entry.get("request_id") == "slow-one"
            ]
            assert [entry["status"] for entry in served] == [201]
            # The request's line came before the pools were closed.
            assert logged.index(served[0]) < logged.index(shutdown[0])
        finally:
            deps.release.set()
            service.stop()
