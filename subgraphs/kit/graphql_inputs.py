"""GraphQL input objects validated by the same pydantic models as the REST bodies.

One model per operation means REST and GraphQL refuse exactly the same input
with the same `VALIDATION_ERROR`, and a rule cannot be added to only one side.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, TypeVar

import strawberry
from pydantic import BaseModel, ValidationError

from .errors import ValidationFailed
from .problem import validation_errors

M = TypeVar("M", bound=BaseModel)


def plain(value: Any) -> Any:
    """Input objects, lists and enums as plain JSON-like values; fields left unset are dropped."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [plain(item) for item in value]
    if hasattr(value, "__strawberry_definition__"):
        return {key: plain(item) for key, item in vars(value).items() if item is not strawberry.UNSET}
    return value


def checked(model: type[M], values: dict[str, Any]) -> M:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise ValidationFailed("The input is not valid.", errors=validation_errors(exc.errors())) from exc
