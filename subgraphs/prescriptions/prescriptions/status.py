"""The FHIR R4 MedicationRequest status machine, as far as this service uses it (docs/prescriptions.md).

- `active` (initial): the patient takes the medication.
- `on-hold`: paused for now (a procedure, an interaction); may resume.
- `completed`: the course ran to its end.
- `cancelled`: withdrawn before the patient took any (issued in error, wrong drug).
- `stopped`: discontinued after the patient started it.

`completed`, `cancelled` and `stopped` are final: a prescription that ended is
changed by issuing a new one, so the record shows what was prescribed when.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    ACTIVE = "active"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    STOPPED = "stopped"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.ACTIVE: frozenset({Status.ON_HOLD, Status.COMPLETED, Status.CANCELLED, Status.STOPPED}),
    # A held course must resume before it can complete: "completed" means it was taken to the end.
    Status.ON_HOLD: frozenset({Status.ACTIVE, Status.CANCELLED, Status.STOPPED}),
    Status.COMPLETED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.STOPPED: frozenset(),
}

FINAL = frozenset(status for status, targets in TRANSITIONS.items() if not targets)


def allowed(current: Status, target: Status) -> bool:
    """Whether `current` may become `target`; staying put is allowed while not final."""
    return target in TRANSITIONS[current] or (target == current and current not in FINAL)
