"""Nested fields through the router: each subgraph applies its own rules to the fields it resolves.

A real stack (every subgraph under `healthcare serve`, Hive Gateway and Apollo Gateway in front;
tests/e2e/stack.py) and queries that cross subgraphs, each sent through both routers: an appointment with its patient's phone and its prescriptions,
a user with their appointments and prescriptions, and so on. One table gives each actor's
outcome per query; on top, no answer may contain a secret its actor may not see (the patient's
phone, the doctor's phone, the medication, the visit notes), whatever else the answer holds.
"""

from __future__ import annotations

import subprocess
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from subgraphs.cli.processes import healthcare_command

from ..e2e.stack import ROUTERS, Stack, new_stack, require_router_packages
from .matrix import ACTORS

pytestmark = pytest.mark.e2e

QUERIES = {
    "an appointment with its people and prescriptions": """
        query($a: ID!) { appointment(id: $a) {
          id notes patient { id phone } doctor { displayName user { phone } } prescriptions { medication } } }""",
    "a user with their appointments and prescriptions": """
        query($u: ID!) { user(id: $u) { id phone appointments { id notes } prescriptions { medication } } }""",
    "a prescription with its patient, appointment and doctor": """
        query($p: ID!) { prescription(id: $p) {
          id medication patient { phone } appointment { notes } doctor { user { phone } } } }""",
    "a doctor with their appointments": """
        query($d: ID!) { doctor(id: $d) {
          id user { phone } appointments { id notes patient { phone } prescriptions { medication } } } }""",
    "my appointments and prescriptions": """
        { me { id appointments { id notes prescriptions { medication } } prescriptions { medication } } }""",
}

# fmt: off
TABLE = """
query                                                     | anonymous | owner | other_patient | doctor | other_doctor | admin
an appointment with its people and prescriptions          | 401       | ok    | 404           | ok     | 404          | 403
a user with their appointments and prescriptions          | 401       | ok    | 404           | ok     | 404          | 403
a prescription with its patient, appointment and doctor   | 401       | ok    | 404           | ok     | 404          | 403
a doctor with their appointments                          | 401       | ok    | ok            | ok     | ok           | 403
my appointments and prescriptions                         | 401       | ok    | ok            | ok     | ok           | 403
"""
# fmt: on

# Which of the owner's secrets each actor may see (docs/api-contract.md "Who may see what"): the doctor sees their
# patient's phone and what they prescribed; an admin sees profiles and appointments, but
# prescriptions only as counts; a doctor's phone is theirs (and an admin's) alone.
MAY_SEE = {
    "anonymous": set(),
    "owner": {"owner phone", "notes", "medication"},
    "other_patient": set(),
    "doctor": {"owner phone", "notes", "medication", "doctor phone"},
    "other_doctor": set(),
    "admin": {"owner phone", "notes", "doctor phone"},
}


def parse() -> dict[tuple[str, str], str]:
    lines = [line for line in TABLE.strip().splitlines() if line.strip()]
    assert tuple(cell.strip() for cell in lines[0].split("|")[1:]) == ACTORS
    expected = {}
    for line in lines[1:]:
        name, *outcomes = (cell.strip() for cell in line.split("|"))
        for actor, outcome in zip(ACTORS, outcomes, strict=True):
            expected[(name, actor)] = outcome
    assert {name for name, _ in expected} == set(QUERIES)
    return expected


EXPECTED = parse()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_router_packages()
    running = new_stack(tmp_path_factory.mktemp("security-stack"))
    try:
        running.start(routers=ROUTERS)
        yield running
    finally:
        running.stop()


def mutate(stack: Stack, query: str, variables: dict, token: str) -> dict:
    return stack.data(query, variables, token=token)


@pytest.fixture(scope="module")
def world(stack: Stack) -> dict:
    tag = uuid.uuid4().hex[:8]
    secrets = {
        "owner phone": f"+44 20 7946 {uuid.uuid4().int % 10_000:04d}",
        "doctor phone": f"+44 20 7000 {uuid.uuid4().int % 10_000:04d}",
        "medication": f"Secretamol {tag} mg",
        "notes": f"Visit notes {tag}",
    }
    people = {actor: stack.register_and_login("PATIENT") for actor in ("owner", "other_patient")}
    people.update({actor: stack.register_and_login("DOCTOR") for actor in ("doctor", "other_doctor")})
    profile = "mutation($p: String) { updateProfile(input: {phone: $p}) { id } }"
    mutate(stack, profile, {"p": secrets["owner phone"]}, people["owner"]["token"])
    mutate(stack, profile, {"p": secrets["doctor phone"]}, people["doctor"]["token"])
    hours = [{"weekday": day, "start": "00:00", "end": "23:59"} for day in range(7)]
    for actor in ("doctor", "other_doctor"):
        mutate(
            stack,
            "mutation($i: DoctorInput!) { createDoctorProfile(input: $i) { id } }",
            {"i": {"displayName": f"Dr {actor}", "specialty": "gp", "licenseNumber": "L-1", "workingHours": hours}},
            people[actor]["token"],
        )

    def visit(patient: str, doctor: str, days: int, medication: str, notes: str) -> tuple[str, str]:
        starts = (datetime.now(UTC) + timedelta(days=days)).replace(hour=10, minute=0, second=0, microsecond=0)
        booked = mutate(
            stack,
            "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }",
            {"i": {"doctorId": people[doctor]["id"], "startsAt": starts.isoformat()}},
            people[patient]["token"],
        )["bookAppointment"]["id"]
        mutate(
            stack,
            "mutation($a: ID!, $n: String) { updateAppointment(id: $a, input: {status: ARRIVED, notes: $n}) { id } }",
            {"a": booked, "n": notes},
            people[doctor]["token"],
        )
        issued = mutate(
            stack,
            "mutation($i: IssuePrescriptionInput!) { issuePrescription(input: $i) { id } }",
            {"i": {"appointmentId": booked, "medication": medication, "dosage": "1", "frequency": "daily"}},
            people[doctor]["token"],
        )["issuePrescription"]["id"]
        return booked, issued

    appointment, prescription = visit("owner", "doctor", 3, secrets["medication"], secrets["notes"])
    visit("other_patient", "other_doctor", 4, "Othermol", "Other notes")

    email = f"admin-{tag}@example.org"
    created = subprocess.run(
        healthcare_command("create-admin", "--email", email, "--full-name", "Ada Admin", "--password-stdin"),
        env=stack.subgraph_env("auth"),
        input="an admin passphrase\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert created.returncode == 0, created.stderr
    login = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }"
    people["admin"] = {"token": stack.data(login, {"e": email, "p": "an admin passphrase"})["login"]["accessToken"]}
    people["anonymous"] = {"token": None}
    variables = {"a": appointment, "p": prescription, "u": people["owner"]["id"], "d": people["doctor"]["id"]}
    return {"people": people, "secrets": secrets, "variables": variables}


def run(stack: Stack, world: dict, name: str, actor: str, router: str) -> tuple[str, str]:
    query = QUERIES[name]
    used = {key: value for key, value in world["variables"].items() if f"${key}" in query}
    response = stack.graphql(query, used, token=world["people"][actor]["token"], router=router)
    assert response.status_code == 200, response.text
    body = response.json()
    codes = [error.get("extensions", {}).get("code") for error in body.get("errors", [])]
    outcome = (
        "ok"
        if not codes
        else {"UNAUTHENTICATED": "401", "FORBIDDEN": "403", "NOT_FOUND": "404"}.get(codes[0], codes[0])
    )
    return outcome, response.text


@pytest.mark.parametrize("router", ROUTERS)
@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("name", list(QUERIES))
def test_nested_fields_through_the_router(stack: Stack, world: dict, name: str, actor: str, router: str):
    outcome, text = run(stack, world, name, actor, router)
    leaked = [secret for secret, value in world["secrets"].items() if value in text and secret not in MAY_SEE[actor]]
    assert not leaked, f"{name} as {actor} shows {leaked}: {text}"
    assert outcome == EXPECTED[(name, actor)], text


@pytest.mark.parametrize("router", ROUTERS)
def test_the_owner_and_their_doctor_see_what_the_rules_give_them(stack: Stack, world: dict, router: str):
    """The positive side: where the table says ok, the secrets an actor may see are really there."""
    secrets = world["secrets"]
    _, text = run(stack, world, "an appointment with its people and prescriptions", "owner", router)
    assert secrets["owner phone"] in text and secrets["medication"] in text and secrets["notes"] in text
    _, text = run(stack, world, "a prescription with its patient, appointment and doctor", "doctor", router)
    assert secrets["owner phone"] in text and secrets["doctor phone"] in text and secrets["medication"] in text
    _, text = run(stack, world, "a user with their appointments and prescriptions", "doctor", router)
    assert secrets["owner phone"] in text and secrets["notes"] in text
