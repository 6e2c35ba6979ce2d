from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet


@strawberry.enum(name="Role")
class RoleEnum(Enum):
    PATIENT = "patient"
    DOCTOR = "doctor"
    ADMIN = "admin"


@strawberry.federation.type(name="User", directives=[Key(fields=FieldSet("id"), resolvable=False)])
class UserRef:
    """A user by id: the router fetches every other field from the auth subgraph."""

    id: strawberry.ID
