"""The JSON log lines of a realistic run: who and which request each line is about, and never a
password, a token or a patient's details."""

from __future__ import annotations

import json
import logging
import secrets
import uuid

import pytest

from subgraphs.kit.logging import NOISY, JsonFormatter, quiet_libraries

from ..conftest import ROUTER_HEADERS
from ..system import System

PATIENT_NAME = "Philippa Quarrington-Vell"
PASSWORD = "violet-kettle-harbour-1987"
PHONE = "+44 20 7946 0123"
REASON = "recurring migraine with aura"
MEDICATION = "Zolmitriptan 2.5 mg"
INSTRUCTIONS = "Not with St John's wort"


class Lines(logging.Handler):
    """Every record as the services write it (formatted when emitted, while the request's
    context is still set)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter("test"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def captured():
    handler = Lines()
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", *NOISY)}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)  # the most a service could be made to say (LOG_LEVEL=DEBUG)
    quiet_libraries()  # as `configure_logging` leaves them in a service
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


async def realistic_run(system: System) -> dict:
    """Registration, sign-in, refresh, profile, booking, a visit, a prescription, GraphQL,
    mistakes: what a day of the API looks like, with a traceparent on every request."""
    traceparent = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"
    trace = {"traceparent": traceparent, "x-request-id": f"day-{uuid.uuid4().hex[:8]}"}
    email = f"philippa-{uuid.uuid4().hex[:6]}@example.org"
    auth, appointments, prescriptions = system.auth, system.appointments, system.prescriptions
    registration = {"email": email, "password": PASSWORD, "full_name": PATIENT_NAME, "date_of_birth": "1961-04-09"}
    assert (await auth.post("/auth/register", json=registration, headers=trace)).status_code == 201
    wrong = await auth.post("/auth/login", json={"email": email, "password": PASSWORD + "x"}, headers=trace)
    assert wrong.status_code == 401
    tokens = (await auth.post("/auth/login", json={"email": email, "password": PASSWORD}, headers=trace)).json()
    patient = {"authorization": f"Bearer {tokens['access_token']}", **trace}
    refreshed = await auth.post(
        "/auth/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, headers=trace
    )
    assert refreshed.status_code == 200, refreshed.text
    assert (await auth.put("/users/profile", json={"phone": PHONE}, headers=patient)).status_code == 200
    me = await auth.post(
        "/graphql", json={"query": "query Me { me { fullName phone } }"}, headers={**patient, **ROUTER_HEADERS}
    )
    assert me.json()["data"]["me"]["fullName"] == PATIENT_NAME

    doctor = await system.doctor()
    booking = {"doctor_id": doctor["id"], "starts_at": "2031-03-04T10:00:00+00:00", "reason": REASON}
    booked = await appointments.post("/appointments", json=booking, headers=patient)
    assert booked.status_code == 201, booked.text
    appointment = booked.json()
    for status in ("arrived", "fulfilled"):
        response = await appointments.put(
            f"/appointments/{appointment['id']}", json={"status": status}, headers={**doctor["headers"], **trace}
        )
        assert response.status_code == 200
    issued = await prescriptions.post(
        "/prescriptions",
        json={
            "appointment_id": appointment["id"],
            "medication": MEDICATION,
            "dosage": "1 tablet",
            "frequency": "at onset",
            "instructions": INSTRUCTIONS,
        },  # fmt: skip
        headers={**doctor["headers"], **trace},
    )
    assert issued.status_code == 201, issued.text
    assert (await prescriptions.get("/prescriptions?status=active", headers=patient)).status_code == 200
    # Mistakes and attacks are logged too: a forged token, a malformed body.
    forged = {"authorization": f"Bearer {tokens['access_token'][:-4]}AAAA", **trace}
    assert (await prescriptions.get("/prescriptions", headers=forged)).status_code == 401
    assert (await appointments.post("/appointments", json={"reason": REASON}, headers=patient)).status_code == 422
    return {
        "tokens": [tokens["access_token"], tokens["refresh_token"], refreshed.json()["access_token"], doctor["token"]],
        "email": email,
        "patient_id": me.json()["data"] and appointment["patient_id"],
        "trace_id": traceparent.split("-")[1],
        "request_id": trace["x-request-id"],
    }


async def test_no_password_token_or_patient_detail_reaches_the_logs(system: System, captured: Lines):
    run = await realistic_run(system)

    text = "\n".join(captured.lines)
    assert len(captured.lines) > 10
    forbidden = {
        "the password": PASSWORD,
        "the patient's name": PATIENT_NAME,
        "the patient's surname": "Quarrington",
        "the patient's email": run["email"],
        "the patient's phone": PHONE,
        "the date of birth": "1961-04-09",
        "the reason for the visit": REASON,
        "the medication": MEDICATION,
        "the instructions": INSTRUCTIONS,
        **{f"token {number}": token for number, token in enumerate(run["tokens"])},
        **{f"the signature of token {number}": token.rsplit(".", 1)[-1] for number, token in enumerate(run["tokens"])},
    }
    leaked = [what for what, value in forbidden.items() if value in text]
    assert not leaked, f"in the logs: {', '.join(leaked)}"


async def test_each_line_names_its_service_request_trace_and_user(system: System, captured: Lines):
    run = await realistic_run(system)

    entries = [json.loads(line) for line in captured.lines]
    requests = [entry for entry in entries if entry.get("logger") == "access"]
    ours = [entry for entry in requests if entry.get("request_id") == run["request_id"]]
    assert len(ours) >= 10
    assert all(entry["trace_id"] == run["trace_id"] for entry in ours)
    assert all(entry["route"] != "<unmatched>" for entry in ours)
    # Signed-in requests say who made them (an id, never a name).
    profile = [entry for entry in ours if entry["path"] == "/users/profile"]
    assert profile and all(entry.get("user_id") == run["patient_id"] for entry in profile)
    assert all({"ts", "level", "service", "logger", "msg"} <= set(entry) for entry in entries)


def test_readiness_probes_do_not_fill_the_log_with_alembic_context_lines(caplog):
    """`/ready` makes a migration context on every probe; alembic names its dialect each time."""
    quiet_libraries()
    alembic_log = logging.getLogger("alembic.runtime.migration")
    with caplog.at_level(logging.INFO, logger="alembic.runtime.migration"):
        alembic_log.info("Context impl PostgresqlImpl.")
        alembic_log.info("Will assume transactional DDL.")
        alembic_log.info("Running upgrade 0001 -> 0002, the audit log")
    assert [record.getMessage() for record in caplog.records] == ["Running upgrade 0001 -> 0002, the audit log"]
