"""The base of every request body model: unknown fields refused, NUL characters refused.

PostgreSQL text cannot hold U+0000: a NUL that reaches a query is an unexpected error (a 500,
or a masked GraphQL error) on PostgreSQL and a stored oddity on SQLite. No field of this API
means to carry one, so any string anywhere in a body is refused with it (422
VALIDATION_ERROR), for REST and GraphQL alike (both validate through these models). Query
parameters that are free text use `TEXT_PATTERN`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

# For free-text query parameters: `Query(pattern=TEXT_PATTERN)`; it shows in the OpenAPI document.
TEXT_PATTERN = r"^[^\x00]*$"


def contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(key) or contains_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(contains_nul(item) for item in value)
    return False


class StrictInput(BaseModel):
    # Unknown fields are refused (docs/api-contract.md), so `{"role": "admin"}` can never slip into an update.
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, values: Any) -> Any:
        if contains_nul(values):
            raise ValueError("text may not contain NUL characters (U+0000)")
        return values
