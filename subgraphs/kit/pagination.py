"""`?limit=&offset=` and the page body every list route returns."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

DEFAULT_LIMIT = 50
MAX_LIMIT = 100

T = TypeVar("T")


class PageParams(BaseModel):
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    @classmethod
    def of(cls, limit: int | None, offset: int | None) -> PageParams:
        """Larger limits are capped, not refused (the API contract); negatives become 0."""
        limit = DEFAULT_LIMIT if limit is None else max(1, min(limit, MAX_LIMIT))
        return cls(limit=limit, offset=max(0, offset or 0))


def _page_params(
    limit: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    offset: Annotated[int | None, Query(ge=0, le=10_000_000)] = None,
) -> PageParams:
    return PageParams.of(limit, offset)


PageQuery = Annotated[PageParams, Depends(_page_params)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
