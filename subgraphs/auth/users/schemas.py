"""Shapes of user data at the edges; both REST and GraphQL validate through these."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StrictBool, StringConstraints, field_validator

from subgraphs.kit.inputs import StrictInput
from subgraphs.kit.instants import CalendarDate

Password = Annotated[str, Field(min_length=10, max_length=256)]
FullName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 ()\-]{4,30}$")]


def _past_date(value: date | None) -> date | None:
    if value is not None and not (date(1900, 1, 1) <= value <= date.today()):
        raise ValueError("date of birth must be between 1900-01-01 and today")
    return value


class Strict(StrictInput):
    """Unknown fields and NUL characters refused (kit/inputs.py)."""


class RegisterBody(Strict):
    email: EmailStr = Field(max_length=320)
    password: Password
    full_name: FullName
    role: Literal["patient", "doctor"] = "patient"
    phone: Phone | None = None
    date_of_birth: CalendarDate | None = None

    _dob = field_validator("date_of_birth")(_past_date)


class ProfileUpdate(Strict):
    full_name: FullName | None = None
    phone: Phone | None = None
    date_of_birth: CalendarDate | None = None
    password: Password | None = None
    current_password: Annotated[str, Field(max_length=256)] | None = None

    _dob = field_validator("date_of_birth")(_past_date)


class LoginBody(Strict):
    email: Annotated[str, Field(min_length=1, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    full_name: str
    role: Literal["patient", "doctor", "admin"]
    phone: str | None
    date_of_birth: date | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


class UserAdminUpdate(Strict):
    is_active: StrictBool | None = None
    role: Literal["patient", "doctor", "admin"] | None = None


class UserStats(BaseModel):
    total: int
    by_role: dict[str, int]
