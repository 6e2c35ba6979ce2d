"""Shapes of prescriptions at the edges; REST and GraphQL both validate through these."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic import Strict as NoCoercion

from subgraphs.kit.inputs import StrictInput

from .models import MAX_REFILLS
from .status import Status

Medication = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Dosage = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Frequency = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Instructions = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
# Ten years is longer than any course a single prescription should cover.
# NoCoercion: "7" or true is not a number here, as the OpenAPI document says (tests/fuzz).
DurationDays = Annotated[int, NoCoercion(), Field(ge=1, le=3650)]
Refills = Annotated[int, NoCoercion(), Field(ge=0, le=MAX_REFILLS)]

# What a prescription was issued as; changing any of it means cancelling and issuing anew.
IMMUTABLE = (
    "appointment_id",
    "patient_id",
    "doctor_id",
    "medication",
    "dosage",
    "frequency",
    "duration_days",
    "refills",
)


class Strict(StrictInput):
    """Unknown fields and NUL characters refused (kit/inputs.py)."""


class PrescriptionCreate(Strict):
    appointment_id: uuid.UUID
    medication: Medication
    dosage: Dosage
    frequency: Frequency
    duration_days: DurationDays | None = None
    refills: Refills = 0
    instructions: Instructions | None = None


class PrescriptionUpdate(Strict):
    """`version` is the one the client read; `status` and `instructions` are the only mutable fields."""

    version: Annotated[int, NoCoercion(), Field(ge=1)]
    status: Status | None = None
    instructions: Instructions | None = Field(None, description="null clears them")

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        fixed = sorted(field for field in IMMUTABLE if field in values)
        if fixed:
            raise ValueError(
                f"{', '.join(fixed)}: cannot change once a prescription is issued; cancel it and issue a new one"
            )
        if "status" in values and values["status"] is None:
            raise ValueError("status may not be null")
        if "status" not in values and "instructions" not in values:
            raise ValueError("nothing to change: give status and/or instructions")
        return values


class PrescriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    appointment_id: uuid.UUID
    patient_id: uuid.UUID
    doctor_id: uuid.UUID = Field(description="The doctor's user id, which is also their Doctor id")
    medication: str
    dosage: str
    frequency: str
    duration_days: int | None
    refills: int = Field(description="Refills left (none are dispensed through this service yet)")
    instructions: str | None
    status: Status
    version: int
    issued_at: datetime
    updated_at: datetime
    ends_on: date | None = Field(description="issued_at's date + duration_days; null without a duration")


class PrescriptionStats(BaseModel):
    """Aggregates for admins (the admin service's analytics): numbers only, no clinical text."""

    total: int
    by_status: dict[Status, int]


class PrescriptionFilter(Strict):
    """What a caller asked for; the service narrows it to what they may see."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Status | None = None
    appointment_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """The rows a caller may see: their own as patient, or those they issued as doctor."""

    patient_id: uuid.UUID | None = None
    doctor_id: uuid.UUID | None = None
