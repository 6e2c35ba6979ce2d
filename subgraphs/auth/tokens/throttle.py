"""Failed-login throttling, per account and per client address.

An account is counted whether or not it exists, so the throttle reveals nothing
about which emails are registered. While either count is over its limit every
attempt is refused, a correct password included: guessing cannot continue.
"""

from __future__ import annotations

from subgraphs.kit.errors import TooManyRequests
from subgraphs.kit.ratelimit import Counter


class LoginThrottle:
    def __init__(self, counter: Counter, *, per_account: int, per_address: int, window_seconds: int) -> None:
        self.counter = counter
        self.per_account = per_account
        self.per_address = per_address
        self.window_seconds = window_seconds

    def _keys(self, email: str, address: str | None) -> list[tuple[str, int]]:
        keys = [(f"login:account:{email.strip().lower()}", self.per_account)]
        if address:
            keys.append((f"login:address:{address}", self.per_address))
        return keys

    async def check(self, email: str, address: str | None) -> None:
        for key, limit in self._keys(email, address):
            window = await self.counter.get(key)
            if window.count >= limit:
                raise TooManyRequests(retry_after=max(1, window.resets_in))

    async def failed(self, email: str, address: str | None) -> None:
        for key, _limit in self._keys(email, address):
            await self.counter.add(key, self.window_seconds)

    async def succeeded(self, email: str) -> None:
        await self.counter.clear(self._keys(email, None)[0][0])
