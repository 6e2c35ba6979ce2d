"""The benchmark's data set: a few real users made through the API, everything else in bulk.

The users the scenarios sign in as (bench patients and bench doctors) are registered with
`POST /auth/register` and the doctors create their profile with `POST /doctors/profile`, so
their rows, tokens and audit events are what the services themselves make. Everything else
(the other doctors and patients, appointments, prescriptions) is inserted in bulk straight into
each service's database through the services' own SQLAlchemy tables, which is what makes a
20,000-appointment data set take seconds instead of minutes. Bulk rows carry no audit events.

Times: appointment i starts at a slot of its own (one every 30 minutes from 300 days ago), so no
two appointments overlap and the exclusion constraints hold; past ones are fulfilled, cancelled
or no-show, future ones booked. Prescriptions are issued at fulfilled appointments, first
at the bench patients' (about two in three of their visits), then at random ones.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import httpx

if TYPE_CHECKING:  # SQLAlchemy itself is imported only when loading (bulk_load)
    from sqlalchemy import Table

FIRST = ["Ada", "Ben", "Chloe", "Dev", "Eli", "Farah", "Gus", "Hana", "Ivo", "June", "Kofi", "Lena", "Mika", "Nia"]
LAST = ["Abbott", "Byrne", "Costa", "Diaz", "Eze", "Fischer", "Grant", "Haddad", "Ito", "Jensen", "Kowal", "Lund"]
SPECIALTIES = ["cardiology", "dermatology", "family medicine", "neurology", "pediatrics", "psychiatry"]
MEDICATIONS = [
    ("Amoxicillin 500 mg", "1 capsule", "3 times a day"),
    ("Ibuprofen 400 mg", "1 tablet", "as needed"),
    ("Metformin 850 mg", "1 tablet", "twice a day"),
    ("Lisinopril 10 mg", "1 tablet", "once a day"),
    ("Salbutamol 100 mcg", "2 puffs", "as needed"),
]
PASSWORD = "bench passphrase 2030"
SLOT = timedelta(minutes=30)
LENGTH = timedelta(minutes=20)
CHUNK = 5000


@dataclass(frozen=True)
class Plan:
    doctors: int = 50
    patients: int = 2000
    appointments: int = 20_000
    prescriptions: int = 10_000
    bench_patients: int = 4
    bench_doctors: int = 2
    # Each bench user has this many appointments (the largest list size plus room to vary offsets).
    per_bench_user: int = 1020
    seed: int = 20_300


@dataclass
class BenchUser:
    id: str
    email: str
    role: str
    full_name: str
    # A doctor's appointment start times, sorted (the doctor's-day windows are cut from them).
    starts: list[datetime] = field(default_factory=list)


@dataclass
class SeedResult:
    patients: list[BenchUser]
    doctors: list[BenchUser]
    counts: dict[str, int]
    seconds: float = 0.0


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def register_real_users(
    plan: Plan, auth_url: str, appointments_url: str, run_tag: str
) -> tuple[list[BenchUser], list[BenchUser]]:
    """The users scenarios sign in as, through the services' own REST routes."""
    rng = random.Random(plan.seed)  # noqa: S311 - test data, not secrets
    patients: list[BenchUser] = []
    doctors: list[BenchUser] = []
    with httpx.Client(timeout=30) as client:
        for role, count, out in (("patient", plan.bench_patients, patients), ("doctor", plan.bench_doctors, doctors)):
            for index in range(count):
                email = f"bench-{role}-{index}-{run_tag}@example.org"
                full_name = f"{'Dr. ' if role == 'doctor' else ''}{_name(rng)}"
                body = {"email": email, "password": PASSWORD, "full_name": full_name, "role": role}
                if role == "patient":
                    body["date_of_birth"] = str(date(1950 + index, 1 + index % 12, 1 + index % 28))
                response = client.post(f"{auth_url}/auth/register", json=body)
                response.raise_for_status()
                out.append(BenchUser(id=response.json()["id"], email=email, role=role, full_name=full_name))
        for index, doctor in enumerate(doctors):
            token = login(client, auth_url, doctor.email)
            profile = {
                "display_name": doctor.full_name,
                "specialty": SPECIALTIES[index % len(SPECIALTIES)],
                "license_number": f"BENCH-{index:05d}",
                "timezone": "UTC",
                "appointment_minutes": 20,
                "working_hours": [{"weekday": day, "start": "00:00", "end": "23:59"} for day in range(7)],
            }
            response = client.post(
                f"{appointments_url}/doctors/profile", json=profile, headers={"authorization": f"Bearer {token}"}
            )
            response.raise_for_status()
    return patients, doctors


def login(client: httpx.Client, auth_url: str, email: str) -> str:
    response = client.post(f"{auth_url}/auth/login", json={"email": email, "password": PASSWORD})
    response.raise_for_status()
    return response.json()["access_token"]


def bulk_load(plan: Plan, urls: dict[str, str], patients: list[BenchUser], doctors: list[BenchUser]) -> dict[str, int]:
    """Inserts the rest of the data set; returns row counts per table."""
    from argon2 import PasswordHasher
    from sqlalchemy import create_engine, insert, text

    from subgraphs.appointments.appointments.models import Appointment
    from subgraphs.appointments.doctors.models import DoctorProfile
    from subgraphs.auth.users.models import User
    from subgraphs.kit.db import sync_url
    from subgraphs.prescriptions.prescriptions.models import Prescription

    rng = random.Random(plan.seed + 1)  # noqa: S311 - test data, not secrets
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    # Nobody signs in as a bulk user: one hash (argon2id at its lowest cost) serves them all.
    shared_hash = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(f"bulk-{uuid.uuid4()}")

    users, profiles = [], []
    doctor_ids = [uuid.UUID(d.id) for d in doctors]
    patient_ids = [uuid.UUID(p.id) for p in patients]
    for index in range(max(plan.doctors - len(doctors), 0)):
        user_id = uuid.uuid4()
        doctor_ids.append(user_id)
        name = f"Dr. {_name(rng)}"
        users.append(_user(user_id, f"doctor-{index}-{user_id.hex[:8]}@example.org", name, "doctor", None, shared_hash))
        profiles.append(
            {
                "id": user_id,
                "display_name": name,
                "specialty": SPECIALTIES[index % len(SPECIALTIES)],
                "license_number": f"LIC-{index:05d}",
                "bio": None,
                "years_experience": rng.randint(1, 35),
                "working_hours": [{"weekday": day, "start": "08:00", "end": "18:00"} for day in range(5)],
                "appointment_minutes": 20,
                "timezone": "UTC",
            }
        )
    background_patients = []
    for index in range(max(plan.patients - len(patients), 0)):
        user_id = uuid.uuid4()
        background_patients.append(user_id)
        born = date(1940 + rng.randint(0, 65), rng.randint(1, 12), rng.randint(1, 28))
        users.append(
            _user(user_id, f"patient-{index}-{user_id.hex[:8]}@example.org", _name(rng), "patient", born, shared_hash)
        )
    all_patients = patient_ids + background_patients

    # Who meets whom: the bench users' lists first, then random pairs up to the total.
    pairs: list[tuple[uuid.UUID, uuid.UUID]] = []
    for patient in patient_ids:
        pairs += [(patient, doctor_ids[k % len(doctor_ids)]) for k in range(plan.per_bench_user)]
    for doctor in doctor_ids[: len(doctors)]:
        pool = background_patients or patient_ids
        pairs += [(pool[k % len(pool)], doctor) for k in range(plan.per_bench_user)]
    while len(pairs) < plan.appointments:
        pairs.append((rng.choice(all_patients), rng.choice(doctor_ids)))
    slots = list(range(len(pairs)))
    rng.shuffle(slots)
    first = now - timedelta(days=300)
    appointments: list[dict[str, Any]] = []
    fulfilled: list[dict[str, Any]] = []
    for (patient, doctor), slot in zip(pairs, slots, strict=True):
        starts = first + slot * SLOT
        past = rng.choices(["fulfilled", "cancelled", "noshow"], weights=[80, 12, 8])[0]
        status = "booked" if starts > now else past
        row: dict[str, Any] = {
            "id": uuid.uuid4(),
            "patient_id": patient,
            "doctor_id": doctor,
            "starts_at": starts,
            "ends_at": starts + LENGTH,
            "status": status,
            "reason": rng.choice(["Check-up", "Follow-up", "Headache", "Cough", None]),
            "notes": None,
            "created_at": starts - timedelta(days=7),
            "updated_at": starts - timedelta(days=7),
        }
        appointments.append(row)
        if status == "fulfilled":
            fulfilled.append(row)

    bench_patient_set = set(patient_ids)
    bench_first = [row for row in fulfilled if row["patient_id"] in bench_patient_set]
    prescribed = [row for row in bench_first if rng.random() < 0.67]
    others = [row for row in fulfilled if row["patient_id"] not in bench_patient_set]
    while len(prescribed) < plan.prescriptions and others:
        prescribed.append(rng.choice(others))
    prescriptions = []
    for row in prescribed:
        medication, dosage, frequency = rng.choice(MEDICATIONS)
        issued = row["starts_at"] + timedelta(minutes=15)
        prescriptions.append(
            {
                "id": uuid.uuid4(),
                "appointment_id": row["id"],
                "patient_id": row["patient_id"],
                "doctor_id": row["doctor_id"],
                "medication": medication,
                "dosage": dosage,
                "frequency": frequency,
                "duration_days": rng.choice([7, 14, 30, None]),
                "refills": rng.randint(0, 3),
                "instructions": None,
                "status": rng.choices(["active", "completed", "stopped"], weights=[50, 40, 10])[0],
                "version": 1,
                "issued_at": issued,
                "updated_at": issued,
            }
        )

    for bench_doctor in doctors:
        bench_doctor.starts = sorted(
            row["starts_at"] for row in appointments if str(row["doctor_id"]) == bench_doctor.id
        )

    def load(url: str, batches: list[tuple[Table, list[dict[str, Any]]]]) -> None:
        engine = create_engine(sync_url(url))
        try:
            with engine.begin() as connection:
                for table, rows in batches:
                    for start in range(0, len(rows), CHUNK):
                        connection.execute(insert(table), rows[start : start + CHUNK])
            if engine.dialect.name == "postgresql":
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                    for table, _rows in batches:
                        connection.execute(text(f"ANALYZE {table.name}"))
        finally:
            engine.dispose()

    load(urls["auth"], [(_table(User), users)])
    load(urls["appointments"], [(_table(DoctorProfile), profiles), (_table(Appointment), appointments)])
    load(urls["prescriptions"], [(_table(Prescription), prescriptions)])
    return {
        "users": len(users) + len(patients) + len(doctors),
        "doctors": len(doctor_ids),
        "patients": len(all_patients),
        "appointments": len(appointments),
        "prescriptions": len(prescriptions),
    }


def _table(model: type[Any]) -> Table:
    """A declarative model's table: always a Table, which SQLAlchemy types as any FromClause."""
    return cast("Table", model.__table__)


def _user(user_id, email, name, role, born, password_hash) -> dict:
    return {
        "id": user_id,
        "email": email,
        "password_hash": password_hash,
        "full_name": name,
        "role": role,
        "phone": None,
        "date_of_birth": born,
        "is_active": True,
    }
