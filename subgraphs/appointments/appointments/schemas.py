"""Shapes of appointments at the edges; REST and GraphQL both validate through these."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from subgraphs.kit.inputs import StrictInput
from subgraphs.kit.instants import Instant

from .status import Status

Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]


def _utc(value: datetime | None) -> datetime | None:
    # Normalized at the edge, so "10:00+01:00" and "09:00Z" are one request
    # (the idempotency fingerprint compares meaning, not spelling).
    return value.astimezone(UTC) if value is not None else None


class Strict(StrictInput):
    """Unknown fields and NUL characters refused (kit/inputs.py)."""


class AppointmentCreate(Strict):
    doctor_id: uuid.UUID
    starts_at: Instant
    ends_at: Instant | None = Field(None, description="Default: starts_at + the doctor's appointment_minutes")
    reason: Reason | None = None
    patient_id: uuid.UUID | None = Field(None, description="Admins only: the patient booked for")

    _utc = field_validator("starts_at", "ends_at")(_utc)


class AppointmentUpdate(Strict):
    """Partial update: fields left out keep their value; `reason` and `notes` may be null."""

    starts_at: Instant | None = None
    ends_at: Instant | None = None
    status: Status | None = None
    reason: Reason | None = None
    notes: Notes | None = None

    _utc = field_validator("starts_at", "ends_at")(_utc)

    @model_validator(mode="before")
    @classmethod
    def _no_null_for_required(cls, values: Any) -> Any:
        if isinstance(values, dict):
            nulls = sorted(k for k in ("starts_at", "ends_at", "status") if k in values and values[k] is None)
            if nulls:
                raise ValueError(f"may not be null: {', '.join(nulls)}")
        return values


class AppointmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    doctor_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    status: Status
    reason: str | None
    notes: str | None
    created_at: datetime
    updated_at: datetime


class AppointmentFilter(Strict):
    """What a caller asked for; the service narrows it to what they may see."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Status | None = None
    starts_from: Instant | None = None  # `from`: starts_at >= this
    starts_before: Instant | None = None  # `to`: starts_at < this
    doctor_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None


class CareQuery(Strict):
    doctor_id: uuid.UUID
    patient_ids: Annotated[list[uuid.UUID], Field(max_length=1000)]


class CareAnswer(BaseModel):
    patient_ids: list[uuid.UUID]


@dataclass(frozen=True, slots=True)
class Scope:
    """The rows a caller may see: fixed patient and/or doctor, or everything (None, None)."""

    patient_id: uuid.UUID | None = None
    doctor_id: uuid.UUID | None = None


class AppointmentStats(BaseModel):
    total: int
    by_status: dict[str, int]
    upcoming: int
