"""`Analytics`: the admin subgraph owns the entry point; auth, appointments and
prescriptions each resolve their own fields of the same entity, in parallel."""

from __future__ import annotations

from datetime import datetime

import strawberry

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
    def resolve_reference(cls, id: strawberry.ID) -> Analytics:
        return cls(id=id, generated_at=utcnow())
