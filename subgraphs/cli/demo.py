"""`healthcare dev --demo`: realistic demo data, loaded through the router's GraphQL API.

Everything but the admin goes through the public graph (register, login, doctor
profiles, bookings, visits, prescriptions), so the demo also shows that the
whole stack works. Running it again on the same databases changes nothing: the
accounts exist, so only the logins are printed.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx

from . import registry
from .processes import healthcare_command

PASSWORD = "demo passphrase"
ADMIN = ("admin@demo.health", "Avery Admin")
DOCTORS = [
    ("dr.okafor@demo.health", "Dr Amara Okafor", "General practice", "GMC-4821931", 14),
    ("dr.lindqvist@demo.health", "Dr Erik Lindqvist", "Cardiology", "GMC-3310274", 22),
    ("dr.moreau@demo.health", "Dr Camille Moreau", "Dermatology", "GMC-7042816", 9),
    ("dr.haddad@demo.health", "Dr Yusuf Haddad", "Paediatrics", "GMC-5528190", 17),
]
PATIENTS = [
    ("maria.garcia@demo.health", "Maria Garcia", "1984-03-12"),
    ("james.chen@demo.health", "James Chen", "1971-11-02"),
    ("aisha.bello@demo.health", "Aisha Bello", "1996-07-25"),
    ("tom.wright@demo.health", "Tom Wright", "1958-01-30"),
    ("sofia.rossi@demo.health", "Sofia Rossi", "2012-09-14"),
    ("noah.kim@demo.health", "Noah Kim", "1989-05-06"),
]
MEDICATIONS = [
    ("Amoxicillin 500 mg", "1 capsule", "3 times a day", 7, 0, "Take with food; finish the course."),
    ("Atorvastatin 20 mg", "1 tablet", "once a day, evening", 90, 3, None),
    ("Hydrocortisone 1% cream", "thin layer", "twice a day", 14, 1, "Apply to the affected skin only."),
    ("Salbutamol 100 mcg inhaler", "2 puffs", "when needed, up to 4 times a day", 60, 2, None),
]
WEEKDAYS_9_TO_5 = [{"weekday": day, "start": "09:00", "end": "17:00"} for day in range(5)]


class Graph:
    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=30)

    def call(self, query: str, variables: dict | None = None, token: str | None = None) -> dict:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        body = self.client.post("", json={"query": query, "variables": variables or {}}, headers=headers).json()
        if body.get("errors"):
            raise DemoError(body["errors"][0].get("extensions", {}).get("code", "?"), body["errors"][0]["message"])
        return body["data"]

    def login(self, email: str) -> str:
        query = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }"
        return self.call(query, {"e": email, "p": PASSWORD})["login"]["accessToken"]


class DemoError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def load(router_url: str, subgraphs: list[registry.Subgraph]) -> None:
    if {s.name for s in subgraphs} != set(registry.SUBGRAPHS):
        print("--demo needs every subgraph; skipped", flush=True)
        return
    _create_admin()
    graph = Graph(router_url)
    register = "mutation($i: RegisterInput!) { register(input: $i) { id } }"
    try:
        graph.call(
            register, {"i": {"email": DOCTORS[0][0], "password": PASSWORD, "fullName": DOCTORS[0][1], "role": "DOCTOR"}}
        )
    except DemoError as exc:
        if exc.code != "EMAIL_TAKEN":
            raise
        print("demo data already loaded", flush=True)
        _print_logins()
        return
    for email, name, *_ in DOCTORS[1:]:
        graph.call(register, {"i": {"email": email, "password": PASSWORD, "fullName": name, "role": "DOCTOR"}})
    for email, name, born in PATIENTS:
        graph.call(register, {"i": {"email": email, "password": PASSWORD, "fullName": name, "dateOfBirth": born}})

    doctors = []
    for email, name, specialty, licence, years in DOCTORS:
        token = graph.login(email)
        created = graph.call(
            "mutation($i: DoctorInput!) { createDoctorProfile(input: $i) { id } }",
            {
                "i": {
                    "displayName": name,
                    "specialty": specialty,
                    "licenseNumber": licence,
                    "yearsExperience": years,
                    "bio": f"{specialty} at the demo clinic.",
                    "workingHours": WEEKDAYS_9_TO_5,
                    "appointmentMinutes": 30,
                }
            },
            token,
        )
        doctors.append((created["createDoctorProfile"]["id"], token))

    book = "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }"
    visit = "mutation($id: ID!, $s: AppointmentStatus!) { updateAppointment(id: $id, input: {status: $s}) { id } }"
    issue = "mutation($i: IssuePrescriptionInput!) { issuePrescription(input: $i) { id } }"
    days = _next_weekdays(10)
    for n, (email, _name, _born) in enumerate(PATIENTS):
        token = graph.login(email)
        for k in range(3):
            doctor_id, doctor_token = doctors[(n + k) % len(doctors)]
            starts = datetime.combine(days[(n + 3 * k) % len(days)], datetime.min.time(), UTC) + timedelta(
                hours=9 + k * 2, minutes=30 * (n % 2)
            )
            appointment = graph.call(
                book, {"i": {"doctorId": doctor_id, "startsAt": starts.isoformat(), "reason": _reason(k)}}, token
            )["bookAppointment"]["id"]
            if k == 0:  # the first visit has happened: the doctor saw them and prescribed
                graph.call(visit, {"id": appointment, "s": "ARRIVED"}, doctor_token)
                medication, dosage, frequency, duration, refills, instructions = MEDICATIONS[n % len(MEDICATIONS)]
                graph.call(
                    issue,
                    {
                        "i": {
                            "appointmentId": appointment,
                            "medication": medication,
                            "dosage": dosage,
                            "frequency": frequency,
                            "durationDays": duration,
                            "refills": refills,
                            "instructions": instructions,
                        }
                    },
                    doctor_token,
                )
                graph.call(visit, {"id": appointment, "s": "FULFILLED"}, doctor_token)
    print(
        f"demo data loaded: {len(DOCTORS)} doctors, {len(PATIENTS)} patients, {3 * len(PATIENTS)} appointments, "
        f"{len(PATIENTS)} prescriptions",
        flush=True,
    )
    _print_logins()


def _create_admin() -> None:
    from .dev import dev_env

    env = {**dev_env(registry.SUBGRAPHS["auth"], Path("var")), "ADMIN_PASSWORD": PASSWORD}
    result = subprocess.run(
        healthcare_command("create-admin", "--email", ADMIN[0], "--full-name", ADMIN[1], "--password-from-env"),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0 and "already exists" not in result.stderr:
        raise RuntimeError(f"create-admin failed: {result.stderr.strip()}")


def _next_weekdays(count: int) -> list[date]:
    day = datetime.now(UTC).date()
    found: list[date] = []
    while len(found) < count:
        day += timedelta(days=1)
        if day.weekday() < 5:
            found.append(day)
    return found


def _reason(k: int) -> str:
    return ["Follow-up", "Annual check-up", "Test results"][k]


def _print_logins() -> None:
    rows = [("role", "email", "password"), ("admin", ADMIN[0], PASSWORD)]
    rows += [("doctor", email, PASSWORD) for email, *_ in DOCTORS]
    rows += [("patient", email, PASSWORD) for email, *_ in PATIENTS]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    print("\ndemo logins:", flush=True)
    for row in rows:
        print("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)), flush=True)
