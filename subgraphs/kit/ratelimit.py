"""Counters over fixed windows, for throttles such as failed logins.

Kept in process memory; a shared store for several replicas plugs in behind the
same two methods.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Window:
    count: int
    resets_in: int  # whole seconds until the count starts again from zero


class Counter(Protocol):
    async def get(self, key: str) -> Window: ...
    async def add(self, key: str, window_seconds: int) -> Window: ...
    async def clear(self, key: str) -> None: ...


class MemoryCounter:
    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[int, float]] = {}

    async def get(self, key: str) -> Window:
        count, ends = self._live(key)
        return Window(count, max(0, math.ceil(ends - self._clock())))

    async def add(self, key: str, window_seconds: int) -> Window:
        count, ends = self._live(key)
        if count == 0:
            ends = self._clock() + window_seconds
        self._entries[key] = (count + 1, ends)
        if len(self._entries) > 100_000:
            self._evict()
        return Window(count + 1, max(0, math.ceil(ends - self._clock())))

    async def clear(self, key: str) -> None:
        self._entries.pop(key, None)

    def _live(self, key: str) -> tuple[int, float]:
        count, ends = self._entries.get(key, (0, 0.0))
        if ends <= self._clock():
            return 0, 0.0
        return count, ends

    def _evict(self) -> None:
        now = self._clock()
        self._entries = {key: entry for key, entry in self._entries.items() if entry[1] > now}
