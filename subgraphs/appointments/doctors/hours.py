"""Working hours: weekly windows of local wall-clock time in the doctor's time zone.

The rule (docs/appointments.md): a doctor's `working_hours` are read in the
profile's `timezone` (an IANA name, "UTC" by default). An appointment fits when,
converted to that zone, it starts and ends on the same local day, inside one
window of that day's weekday (Monday = 0). Windows of one day that touch
(09:00-12:00 and 12:00-17:00) count as one. Because wall-clock times are
compared, a 09:00 start stays 09:00 across daylight-saving changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True, slots=True)
class Window:
    weekday: int
    start: time
    end: time


def parse_clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def windows(entries: Iterable[dict]) -> list[Window]:
    return [Window(e["weekday"], parse_clock(e["start"]), parse_clock(e["end"])) for e in entries]


def zone(name: str) -> ZoneInfo:
    """The zone for an IANA name; ValueError for anything else (paths, unknown names)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone: {name}") from exc


def _merged(day: list[Window]) -> list[tuple[time, time]]:
    spans: list[tuple[time, time]] = []
    for window in sorted(day, key=lambda w: w.start):
        if spans and window.start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], window.end))
        else:
            spans.append((window.start, window.end))
    return spans


def admits(entries: Iterable[dict], timezone: str, starts_at: datetime, ends_at: datetime) -> bool:
    tz = zone(timezone)
    local_start, local_end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    if local_start.date() != local_end.date():
        return False
    day = [w for w in windows(entries) if w.weekday == local_start.weekday()]
    return any(start <= local_start.time() and local_end.time() <= end for start, end in _merged(day))


def overlapping(entries: Iterable[dict]) -> bool:
    """True when two windows of one weekday overlap (touching is allowed)."""
    by_day: dict[int, list[Window]] = {}
    for window in windows(entries):
        by_day.setdefault(window.weekday, []).append(window)
    for day in by_day.values():
        day.sort(key=lambda w: w.start)
        if any(later.start < earlier.end for earlier, later in zip(day, day[1:], strict=False)):
            return True
    return False
