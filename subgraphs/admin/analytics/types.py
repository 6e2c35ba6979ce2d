"""`Analytics`: the admin subgraph owns the entry point; auth, appointments and
prescriptions each resolve their own fields of the same entity, in parallel."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from subgraphs.kit.db import utcnow

CURRENT = "current"


@strawberry.federation.type(keys=["id"], name="Analytics")
class Analytics:
    id: strawberry.ID
    generated_at: datetime

    @classmethod
    def now(cls) -> Analytics:
        return cls(id=strawberry.ID(CURRENT), generated_at=utcnow())

    @classmethod
    def resolve_reference(cls, info: Info, id: strawberry.ID) -> Analytics:
        # Admins only, as on the `analytics` entry point: the same rule on every path.
        info.context.admin_call()
        return cls(id=id, generated_at=utcnow())
