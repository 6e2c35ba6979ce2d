"""GraphQL types of the users domain: `User` (owned here), its inputs, `TokenPair`."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from .service import UserView


@strawberry.enum(name="Role")
class RoleEnum(Enum):
    PATIENT = "patient"
    DOCTOR = "doctor"
    ADMIN = "admin"


@strawberry.federation.type(keys=["id"], name="User")
class UserType:
    id: strawberry.ID
    email: str
    full_name: str
    role: RoleEnum
    is_active: bool
    created_at: datetime
    updated_at: datetime
    # Private to the user, their doctors and admins; null in a doctor's directory entry.
    phone: str | None
    date_of_birth: date | None

    @classmethod
    def from_view(cls, view: UserView) -> UserType:
        user = view.user
        return cls(
            id=strawberry.ID(str(user.id)),
            email=user.email,
            full_name=user.full_name,
            role=RoleEnum(user.role),
            is_active=user.is_active,
            created_at=user.created_at,
            updated_at=user.updated_at,
            phone=user.phone if view.full else None,
            date_of_birth=user.date_of_birth if view.full else None,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> UserType:
        # The router asks for many users at once; the loader answers them with one query.
        return await info.context.users.load(id)


@strawberry.input
class RegisterInput:
    email: str
    password: str
    full_name: str
    role: RoleEnum = RoleEnum.PATIENT
    phone: str | None = None
    date_of_birth: date | None = None


@strawberry.input
class ProfileInput:
    full_name: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    date_of_birth: date | None = strawberry.UNSET
    password: str | None = strawberry.UNSET
    current_password: str | None = strawberry.UNSET


@strawberry.type
class TokenPair:
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


def parse_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
