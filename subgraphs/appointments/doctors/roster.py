"""Which doctor profiles are in service: those of the auth service's active doctors.

A profile is never deleted (past appointments keep naming their doctor), but only a
doctor whose account is active and whose role is still doctor is listed in the
directory and can be booked. The auth service knows who that is
(`GET /internal/active-doctors`, router secret); it is asked at most once per
ACCOUNT_RECHECK_SECONDS, the bound on deactivation and role changes everywhere, so
a deactivated or demoted doctor leaves the directory within that bound, and a
reactivated one comes back within it.

A profile created since the last answer is listed too: only a doctor whose token had
just been checked (role and account) can create one, so a new doctor is bookable at
once instead of after the next question.

When auth cannot answer, the last answer stands. With no answer yet (auth unreachable
since this process started, or an auth release without the route), every profile is
listed, as before this check existed: the directory stays usable, and without auth's
keys hardly any token verifies here anyway.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from subgraphs.kit.db import utcnow
from subgraphs.kit.errors import DependencyUnavailable
from subgraphs.kit.service_client import ServiceClient

log = logging.getLogger(__name__)

ACTIVE_DOCTORS_PATH = "/internal/active-doctors"
# After a failed question, the next one waits this long at most (not a whole recheck period).
RETRY_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Listing:
    """One answer of the auth service: its active doctors, and when the question went out."""

    doctor_ids: frozenset[uuid.UUID]
    asked_at: datetime

    def admits(self, doctor_id: uuid.UUID, created_at: datetime) -> bool:
        return doctor_id in self.doctor_ids or created_at > self.asked_at


def admits(listing: Listing | None, doctor_id: uuid.UUID, created_at: datetime) -> bool:
    """Whether a profile is in service; with no answer (None) every profile is."""
    return listing is None or listing.admits(doctor_id, created_at)


class DoctorRoster:
    def __init__(
        self,
        client: ServiceClient,
        *,
        headers: dict[str, str],
        recheck_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.client = client
        self.headers = headers
        self.recheck_seconds = recheck_seconds
        # Public so that tests move time instead of sleeping.
        self.clock = clock
        self.wall_clock = wall_clock
        self.questions = 0
        self._listing: Listing | None = None
        self._next_at: float | None = None
        self._lock = asyncio.Lock()

    async def listing(self) -> Listing | None:
        if not self._due():
            return self._listing
        if self._lock.locked() and self._listing is not None:
            return self._listing  # another request is asking; the last answer serves meanwhile
        async with self._lock:
            if self._due():
                await self._ask()
        return self._listing

    def _due(self) -> bool:
        return self._next_at is None or self.clock() >= self._next_at

    async def _ask(self) -> None:
        started, asked_at = self.clock(), self.wall_clock()
        self._next_at = started + min(RETRY_SECONDS, self.recheck_seconds)
        self.questions += 1
        try:
            response = await self.client.get(ACTIVE_DOCTORS_PATH, headers=self.headers)
            if response.status_code != 200:
                raise ValueError(f"status {response.status_code}")
            doctor_ids = frozenset(uuid.UUID(value) for value in response.json()["doctor_ids"])
        except (DependencyUnavailable, ValueError, KeyError, TypeError) as exc:
            log.warning("active doctors unavailable; the last answer stands", extra={"error": type(exc).__name__})
            return
        self._listing = Listing(doctor_ids, asked_at)
        self._next_at = started + self.recheck_seconds
