"""The FHIR R4 Appointment status machine, as far as this service uses it (docs/api-contract.md)."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    BOOKED = "booked"
    ARRIVED = "arrived"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    NOSHOW = "noshow"


# Statuses that hold the slot: no other appointment of the same doctor or
# patient may overlap one of these (the PostgreSQL exclusion constraints say the same).
HOLDS_SLOT = frozenset({Status.BOOKED, Status.ARRIVED})

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.BOOKED: frozenset({Status.ARRIVED, Status.CANCELLED, Status.NOSHOW}),
    Status.ARRIVED: frozenset({Status.FULFILLED, Status.CANCELLED}),
    Status.FULFILLED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.NOSHOW: frozenset(),
}


def allowed(current: Status, target: Status) -> bool:
    """Whether `current` may become `target`; staying put is always allowed (a no-op)."""
    return target == current or target in TRANSITIONS[current]
