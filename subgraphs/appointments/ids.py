"""GraphQL ids are strings; a malformed one names nothing, so it is "not found", not a crash."""

from __future__ import annotations

import uuid


def parse_id(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
