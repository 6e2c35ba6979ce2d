"""Date-times and dates as the API accepts them: ISO 8601 text, within sane bounds.

Pydantic's lax mode also reads numbers as Unix timestamps (`?to=5.0` would be 1970-01-01)
and lets through instants that cannot be converted to UTC at all (`0001-01-01T00:00+01:00`
overflows, an unexpected error deep in a service). Both contradict the documented
`format: date-time` and end as 422 VALIDATION_ERROR here, at the edge, for REST and GraphQL.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
_ISO_DATE_START = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _iso_text(value: Any) -> Any:
    """Only ISO 8601 text (or a value already parsed, from GraphQL): never a number."""
    if isinstance(value, bool | int | float) or (isinstance(value, str) and not _ISO_DATE_START.match(value)):
        raise ValueError("expected ISO 8601 text, e.g. 2030-01-07T10:00:00Z or 2030-01-07")
    return value


def _utc_within_bounds(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("date-time out of range") from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError(f"date-time must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return utc


# An instant with its offset, stored and compared in UTC.
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_utc_within_bounds)]
# A calendar date, `YYYY-MM-DD`.
CalendarDate = Annotated[date, BeforeValidator(_iso_text)]
