"""Shapes of doctor profiles at the edges; REST and GraphQL both validate through these."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from pydantic import Strict as NoCoercion

from subgraphs.kit.inputs import StrictInput

from . import hours

Clock = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Specialty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
License = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Bio = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
# NoCoercion: "30" or true is not a number here, as the OpenAPI document says (tests/fuzz).
Years = Annotated[int, NoCoercion(), Field(ge=0, le=80)]
Minutes = Annotated[int, NoCoercion(), Field(ge=5, le=480)]
TimeZoneName = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Strict(StrictInput):
    """Unknown fields and NUL characters refused (kit/inputs.py)."""


class WorkingHours(Strict):
    weekday: Annotated[int, NoCoercion(), Field(ge=0, le=6, description="0 = Monday ... 6 = Sunday")]
    start: Clock
    end: Clock

    @model_validator(mode="after")
    def _ordered(self) -> WorkingHours:
        if self.start >= self.end:  # "HH:MM" strings order like the times they name
            raise ValueError("start must be before end")
        return self


# Four windows a day is plenty (split shifts); more is a malformed request.
MAX_WORKING_HOURS = 28
HoursList = Annotated[list[WorkingHours], Field(max_length=MAX_WORKING_HOURS)]


def _valid_zone(value: str | None) -> str | None:
    if value is not None:
        hours.zone(value)
    return value


def _separate(value: list[WorkingHours] | None) -> list[WorkingHours] | None:
    if value is not None and hours.overlapping(item.model_dump() for item in value):
        raise ValueError("working hours of one weekday must not overlap")
    return value


class DoctorCreate(Strict):
    display_name: Name
    specialty: Specialty
    license_number: License
    bio: Bio | None = None
    years_experience: Years | None = None
    working_hours: HoursList = []
    appointment_minutes: Minutes = 30
    timezone: TimeZoneName = "UTC"

    _zone = field_validator("timezone")(_valid_zone)
    _hours = field_validator("working_hours")(_separate)


class DoctorUpdate(Strict):
    """Partial update: fields left out keep their value; only `bio` and `years_experience` may be null."""

    display_name: Name | None = None
    specialty: Specialty | None = None
    license_number: License | None = None
    bio: Bio | None = None
    years_experience: Years | None = None
    working_hours: HoursList | None = None
    appointment_minutes: Minutes | None = None
    timezone: TimeZoneName | None = None

    _zone = field_validator("timezone")(_valid_zone)
    _hours = field_validator("working_hours")(_separate)

    @model_validator(mode="before")
    @classmethod
    def _no_null_for_required(cls, values: Any) -> Any:
        if isinstance(values, dict):
            nullable = {"bio", "years_experience"}
            nulls = sorted(k for k, v in values.items() if v is None and k not in nullable)
            if nulls:
                raise ValueError(f"may not be null: {', '.join(nulls)}")
        return values


class DoctorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    display_name: str
    specialty: str
    license_number: str
    bio: str | None
    years_experience: int | None
    working_hours: list[WorkingHours]
    appointment_minutes: int
    timezone: str
    created_at: datetime
    updated_at: datetime


class DirectoryQuery(Strict):
    # An empty specialty means "any", as `?specialty=` does on REST.
    specialty: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
