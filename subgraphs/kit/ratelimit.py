"""Counters over fixed windows, and the rate limits built on them.

Two stores behind one interface (`Counter`): `MemoryCounter` keeps counts in the
process (one replica, development, tests); `RedisCounter` keeps them in Redis,
so every replica of a service counts against one limit. `counter_from_settings`
picks Redis when `REDIS_URL` is set.

A `RateLimit` counts hits per key (a client address, an account, a patient) and
refuses the hit over its limit with `TooManyRequests` (429, `Retry-After`; in
GraphQL `extensions.code` TOO_MANY_REQUESTS and `retryAfter`). Every call counts,
so a GraphQL document that repeats a mutation under aliases is counted once per
alias, exactly like as many separate requests.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import TooManyRequests

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Window:
    count: int
    resets_in: int  # whole seconds until the count starts again from zero


class Counter(Protocol):
    async def get(self, key: str) -> Window: ...
    async def add(self, key: str, window_seconds: int) -> Window: ...
    async def clear(self, key: str) -> None: ...
    async def aclose(self) -> None: ...


class MemoryCounter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
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

    async def aclose(self) -> None:
        return None

    def _live(self, key: str) -> tuple[int, float]:
        count, ends = self._entries.get(key, (0, 0.0))
        if ends <= self._clock():
            return 0, 0.0
        return count, ends

    def _evict(self) -> None:
        now = self._clock()
        self._entries = {key: entry for key, entry in self._entries.items() if entry[1] > now}


# INCR and EXPIRE in one atomic step: the first hit of a window sets its expiry, so a
# crash between the two can never leave a counter that never resets. Answers
# {count, milliseconds until reset}.
_ADD = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


class RedisCounter:
    """Fixed windows in Redis, shared by every replica that uses the same `prefix`.

    When Redis cannot be reached the counter falls back to process memory (and
    says so in the log) for `retry_after` seconds before trying Redis again: each
    replica then enforces the limit on its own instead of not at all, and a Redis
    outage neither opens the door to guessing nor takes sign-in down with it.
    """

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = "healthcare:ratelimit:",
        fallback: Counter | None = None,
        retry_after: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.fallback = fallback or MemoryCounter(clock)
        self._retry_after = retry_after
        self._clock = clock
        self._down_until = 0.0
        self._add = client.register_script(_ADD)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisCounter:
        from redis import asyncio as redis_asyncio

        client = redis_asyncio.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5, decode_responses=True)
        return cls(client, **kwargs)

    @property
    def using_fallback(self) -> bool:
        return self._clock() < self._down_until

    async def get(self, key: str) -> Window:
        async def remote() -> Window:
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.get(self.prefix + key)
                pipe.pttl(self.prefix + key)
                count, ttl = await pipe.execute()
            return Window(int(count or 0), _seconds(ttl))

        return await self._either(remote, lambda: self.fallback.get(key))

    async def add(self, key: str, window_seconds: int) -> Window:
        async def remote() -> Window:
            count, ttl = await self._add(keys=[self.prefix + key], args=[int(window_seconds * 1000)])
            return Window(int(count), _seconds(ttl))

        return await self._either(remote, lambda: self.fallback.add(key, window_seconds))

    async def clear(self, key: str) -> None:
        async def remote() -> None:
            await self.client.delete(self.prefix + key)

        await self._either(remote, lambda: self.fallback.clear(key))

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _either(self, remote, local):
        if not self.using_fallback:
            from redis.exceptions import RedisError

            try:
                return await remote()
            except (RedisError, OSError) as exc:
                self._down_until = self._clock() + self._retry_after
                log.error("rate-limit store unreachable, counting in process memory for now: %s", exc)
        return await local()


def _seconds(milliseconds: int | None) -> int:
    """Redis' PTTL in whole seconds; -1/-2 (no expiry, no key) are 0."""
    return math.ceil(milliseconds / 1000) if milliseconds and milliseconds > 0 else 0


def counter_from_settings(settings: Any, clock: Callable[[], float] = time.monotonic) -> Counter:
    """Redis when `REDIS_URL` is set (shared by replicas), process memory otherwise."""
    url = getattr(settings, "redis_url", None)
    if url:
        return RedisCounter.from_url(url, prefix=settings.rate_limit_prefix, clock=clock)
    return MemoryCounter(clock)


class RateLimit:
    """At most `limit` hits per key in each window of `window_seconds`; the next is refused (429)."""

    def __init__(self, counter: Counter, name: str, *, limit: int, window_seconds: int) -> None:
        self.counter = counter
        self.name = name
        self.limit = limit
        self.window_seconds = window_seconds

    def key(self, subject: str) -> str:
        return f"{self.name}:{subject}"

    async def hit(self, subject: str, detail: str | None = None) -> None:
        window = await self.counter.add(self.key(subject), self.window_seconds)
        if window.count > self.limit:
            raise TooManyRequests(retry_after=max(1, window.resets_in), detail=detail)
