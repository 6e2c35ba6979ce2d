"""A stand-in for the services a process under test depends on, on 127.0.0.1: the auth service's
JWKS and account check (so the process verifies real ES256 tokens), and an appointment service
whose answer the test holds back until it says so (a slow dependency, without sleeping)."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.tokens import mint, new_keys


class Dependencies:
    def __init__(self) -> None:
        self.keys = new_keys()
        self.appointments: dict[str, dict] = {}
        self.appointment_asked = threading.Event()  # a GET /appointments/{id} has arrived
        self.release = threading.Event()  # the test lets the held answer go
        self.hold_appointments = False
        self.seen_headers: list[dict[str, str]] = []
        fake = self
        jwks = self.keys.jwks()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                fake.seen_headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.path == "/.well-known/jwks.json":
                    self._json(200, jwks)
                elif self.path == "/auth/validate-token":
                    self._json(200, {"valid": True})
                elif self.path.startswith("/appointments/"):
                    fake.appointment_asked.set()
                    if fake.hold_appointments:
                        fake.release.wait(60)
                    appointment = fake.appointments.get(self.path.rsplit("/", 1)[-1])
                    self._json(200, appointment) if appointment else self._json(404, {"code": "NOT_FOUND"})
                else:
                    self._json(404, {"code": "NOT_FOUND"})

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-deps", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Dependencies:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def token(self, user_id: uuid.UUID, role: str) -> str:
        return mint(self.keys, user_id, role)

    def eligible_appointment(self, doctor_id: uuid.UUID) -> str:
        """An `arrived` appointment of `doctor_id`, as the appointment service would describe it."""
        appointment_id = str(uuid.uuid4())
        self.appointments[appointment_id] = {
            "id": appointment_id,
            "doctor_id": str(doctor_id),
            "patient_id": str(uuid.uuid4()),
            "status": "arrived",
            "starts_at": "2030-01-01T10:00:00+00:00",
            "ends_at": "2030-01-01T10:30:00+00:00",
        }
        return appointment_id
